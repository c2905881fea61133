"""The phone app's view: a client generated from /api/v1/openapi.json by openapi-python-client, inside the
test run, drives a patient's day and a coach's day against the app over HTTP (httpx's WSGI transport).

Red flag -> paused items and the safety advice on Today -> the coach acknowledges (Today names them) ->
resolves with resume -> the items are back; marking the same count twice leaves one state; a retried message with an Idempotency-Key is sent
once; every error the client receives parses as a Problem with a documented code."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from portal.care.models import CheckIn
from portal.extensions import db as _db
from portal.messaging.models import Message
from tests.conftest import PASSWORD, totp_code
from tests.plan_factories import make_item, make_plan

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "holistiq_api_client"


@pytest.fixture(scope="module")
def generated(app, tmp_path_factory):
    """The client package, generated from the app's published document (no hand-written piece)."""
    folder = tmp_path_factory.mktemp("client")
    spec = app.test_client().get("/api/v1/openapi.json")
    assert spec.status_code == 200
    (folder / "openapi.json").write_text(json.dumps(spec.json))
    (folder / "config.yaml").write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(folder / "openapi.json"), "--output-path", str(folder / PACKAGE),
         "--meta", "none", "--config", str(folder / "config.yaml")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Unable to" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        package = importlib.import_module(PACKAGE)
        yield package
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _op(package, name: str):
    return importlib.import_module(f"{PACKAGE}.api.api.{name}")


def _models(package):
    return importlib.import_module(f"{PACKAGE}.models")


def _client(package, app, token: str | None = None):
    transport = httpx.WSGITransport(app=app)
    args = {
        "base_url": "http://portal.test",
        "httpx_args": {"transport": transport},
        "raise_on_unexpected_status": True,
    }
    if token is None:
        return package.Client(**args)
    return package.AuthenticatedClient(token=token, **args)


def _sign_in(package, app, user, code: bool = False) -> str:
    models = _models(package)
    body = models.TokenRequest(email=user.email, password=PASSWORD)
    if code:
        body.code = totp_code(user)
    token = _op(package, "sign_in").sync(client=_client(package, app), body=body)
    assert isinstance(token, models.Token), token
    return token.access_token


def test_a_patients_and_a_coachs_day_through_the_generated_client(app, generated, patient, coach):
    plan = make_plan(
        patient, coach, [make_item(title="Cat-cow stretch"), make_item(title="Desk posture", kind="posture")]
    )
    models = _models(generated)
    phone = _client(generated, app, _sign_in(generated, app, patient))

    today = _op(generated, "get_today").sync(client=phone)
    assert isinstance(today, models.Today) and today.safety is None
    exercise, posture = today.items
    assert exercise.paused is None and exercise.sessions_due == 2 and exercise.sessions_done == 0

    # Marking the same count twice leaves one state.
    for _attempt in range(2):
        marked = _op(generated, "mark_item").sync(exercise.id, client=phone, body=models.MarkItem(sessions_done=1))
        assert isinstance(marked, models.TodayItem) and (marked.sessions_done, marked.done) == (1, False)
    assert _op(generated, "get_today").sync(client=phone).sessions_done == 1

    # A red flag: the advice at once, the exercises paused with the reason, marking refused with a code.
    saved = _op(generated, "save_todays_check_in").sync(
        client=phone, body=models.CheckInInput(pain=6, stiffness=5, rf_walking=True, notes="Legs feel weak")
    )
    assert isinstance(saved, models.CheckInSaved) and saved.safety_advice.tier == models.SafetyAdviceTier.TODAY
    today = _op(generated, "get_today").sync(client=phone)
    assert today.safety.tier == models.SafetyTier.TODAY and today.safety.heading == "Call your clinic today"
    assert today.safety.clinic_phone == patient.clinic.phone and today.safety.exercises_paused is True
    paused_exercise = today.items[0]
    assert paused_exercise.paused.by == models.PausedBy.RED_FLAG and today.items[1].paused is None
    refused = _op(generated, "mark_item").sync_detailed(
        exercise.id, client=phone, body=models.MarkItem(sessions_done=2)
    )
    assert refused.status_code == 409 and isinstance(refused.parsed, models.Problem)
    assert refused.parsed.code == "item_paused" and refused.parsed.title == "Conflict"

    # A message retried with the same Idempotency-Key is sent once.
    key = str(uuid.uuid4())
    first = _op(generated, "send_my_message").sync(
        client=phone, body=models.MessageInput(body="Should I stop?"), idempotency_key=key
    )
    again = _op(generated, "send_my_message").sync(
        client=phone, body=models.MessageInput(body="Should I stop?"), idempotency_key=key
    )
    assert isinstance(first, models.Message) and again.id == first.id
    assert _db.session.scalar(_db.select(_db.func.count(Message.id)).where(Message.patient_id == patient.id)) == 1

    # The coach's day: the alert, resolved with the exercises resumed.
    staff = _client(generated, app, _sign_in(generated, app, coach, code=True))
    roster = _op(generated, "list_patients").sync(client=staff)
    row = next(r for r in roster.items if r.id == patient.id)
    assert row.urgent and row.unread_messages == 1
    alerts = _op(generated, "list_alerts").sync(client=staff)
    (alert,) = alerts.items
    seen = _op(generated, "acknowledge_alert").sync(alert.id, client=staff)
    assert isinstance(seen, models.Alert) and seen.acknowledged_by == coach.name
    assert _op(generated, "get_today").sync(client=phone).safety.acknowledged_by == coach.name
    resolved = _op(generated, "resolve_alert").sync(
        alert.id, client=staff, body=models.Resolve(note="Called; seen at the clinic.", resume_exercises=True)
    )
    assert isinstance(resolved, models.Alert) and resolved.resolved_at is not None
    again = _op(generated, "resolve_alert").sync_detailed(alert.id, client=staff, body=models.Resolve(note="again"))
    assert again.status_code == 409 and again.parsed.code == "alert_closed"

    # The items are back on the patient's Today.
    today = _op(generated, "get_today").sync(client=phone)
    assert today.safety is None and all(item.paused is None for item in today.items)
    marked = _op(generated, "mark_item").sync(exercise.id, client=phone, body=models.MarkItem(sessions_done=2))
    assert marked.done is True

    # The coach pauses one item and resumes it; the patient sees both.
    paused = _op(generated, "pause_plan_item").sync(
        patient.id, posture.id, client=staff, body=models.PauseItem(reason="Knee first")
    )
    assert paused.paused_reason == "Knee first"
    shown = _op(generated, "get_today").sync(client=phone).items[1].paused
    assert shown.by == models.PausedBy.COACH and shown.reason == "Knee first"
    assert _op(generated, "resume_plan_item").sync(patient.id, posture.id, client=staff).paused_reason is None
    assert _op(generated, "get_today").sync(client=phone).items[1].paused is None

    # Partial check-in update, and the FHIR record, through the same client.
    patched = _op(generated, "update_todays_check_in").sync(client=phone, body=models.CheckInPatch(pain=4))
    assert (patched.checkin.pain, patched.checkin.stiffness, patched.checkin.notes) == (4, 5, "Legs feel weak")
    assert _db.session.scalar(_db.select(_db.func.count(CheckIn.id)).where(CheckIn.patient_id == patient.id)) == 1
    record = _op(generated, "get_my_fhir_record").sync_detailed(client=phone)
    assert record.status_code == 200 and record.headers["content-type"] == "application/fhir+json"
    assert json.loads(record.content)["resourceType"] == "Bundle"
    assert plan.id  # the plan the day was about


def test_errors_parse_as_problems_with_their_codes(app, generated, patient):
    models = _models(generated)
    anonymous = _client(generated, app)
    wrong = _op(generated, "sign_in").sync_detailed(
        client=anonymous, body=models.TokenRequest(email=patient.email, password="not the password")
    )
    assert wrong.status_code == 401 and wrong.parsed.code == "invalid_credentials"
    reused = _op(generated, "refresh_token").sync_detailed(
        client=anonymous, body=models.RefreshRequest(refresh_token="x")
    )
    assert reused.parsed.code == "session_ended" and reused.parsed.type_.endswith("/api/v1/problems/session_ended")
    phone = _client(generated, app, _sign_in(generated, app, patient))
    missing = _op(generated, "get_plan_item").sync_detailed(999999, client=phone)
    assert missing.status_code == 404 and missing.parsed.code == "not_found"
    out = _op(generated, "sign_out").sync_detailed(client=phone)
    assert out.status_code == 204 and "content-type" not in out.headers
