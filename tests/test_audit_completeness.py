"""Every security- and health-relevant action leaves an append-only audit event.

One journey per role on the demo data, through the real pages and forms, then
a check that each required kind of event is there with the right actor, the
patient whose record was touched, and the address it came from. Plus the
admin audit page: filters and CSV export.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pyotp
import pytest

from portal.audit import AuditEvent
from portal.auth.models import User, email_lookup
from portal.care.models import Alert, Plan, PlanStatus
from portal.mail import OutboundEmail
from portal.timeutil import utcnow
from tests.conftest import PASSWORD, csrf_token, login
from tests.test_fuzz import _PageParser


def _forms(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, path
    parser = _PageParser(path)
    parser.feed(response.get_data(as_text=True))
    return parser.forms


def _submit(client, page: str, action_pattern: str, **overrides):
    """Post the form on ``page`` whose action matches, with its own values plus ``overrides``."""
    form = next(f for f in _forms(client, page) if re.search(action_pattern, f.action))
    return client.post(form.action, data={**form.fields, **form.submit, **overrides})


def _events(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _one(db, action: str, **expected) -> AuditEvent:
    events = _events(db, action)
    assert events, f"no {action!r} audit event"
    event = events[-1]
    for key, value in expected.items():
        assert getattr(event, key) == value, f"{action}: {key} is {getattr(event, key)!r}, expected {value!r}"
    assert event.ip == "127.0.0.1"
    return event


@pytest.fixture
def world(app, db):
    from portal.demo import run_all

    run_all()
    users = {
        e.split("@")[0]: db.session.scalar(email_lookup(e))
        for e in ("admin@example.com", "coach@example.com", "patient@example.com")
    }
    users["coach2"] = db.session.scalar(email_lookup("coach2@example.com"))
    return users


def _client_for(app, user: User):
    client = app.test_client()
    assert login(client, user, app.config["DEMO_PASSWORD"]).status_code == 302
    return client


def test_sign_in_events(app, db, world):
    patient, coach = world["patient"], world["coach"]
    client = app.test_client()
    for email in (patient.email, "nobody@example.org"):
        token = csrf_token(client, "/login")
        client.post("/login", data={"email": email, "password": "wrong-password-1", "csrf_token": token})
    failures = _events(db, "login.failed")
    assert [e.detail_dict.get("detail_reason") for e in failures] == ["bad_password", "unknown_email"]
    assert failures[0].actor_id == patient.id and failures[0].ip == "127.0.0.1"

    signed_in = _client_for(app, patient)
    _one(db, "login.success", actor_id=patient.id, target_id=patient.id)
    signed_in.post("/logout", data={"csrf_token": csrf_token(signed_in, "/account")})
    _one(db, "logout", actor_id=patient.id)

    # A wrong two-step code is a failed sign-in too.
    staff = app.test_client()
    token = csrf_token(staff, "/login")
    staff.post("/login", data={"email": coach.email, "password": app.config["DEMO_PASSWORD"], "csrf_token": token})
    staff.post("/login/two-factor", data={"code": "12", "csrf_token": csrf_token(staff, "/login/two-factor")})
    assert _events(db, "login.failed")[-1].detail_dict.get("detail_reason") == "bad_second_factor"

    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        token = csrf_token(client, "/login")
        client.post("/login", data={"email": patient.email, "password": "wrong-password-1", "csrf_token": token})
    _one(db, "login.lockout", actor_id=patient.id, patient_id=patient.id)


def test_password_and_two_step_changes(app, db, world):
    patient, admin, coach = world["patient"], world["admin"], world["coach"]
    client = _client_for(app, patient)
    new_password = "a-new-long-passphrase-58"
    _submit(
        client,
        "/account",
        r"^/account$",
        **{"pw-current_password": app.config["DEMO_PASSWORD"], "pw-password": new_password, "pw-confirm": new_password},
        **{"pw-submit": "Change password"},
    )
    _one(db, "password.change", actor_id=patient.id, target_id=patient.id)

    anonymous = app.test_client()
    anonymous.post(
        "/password/forgot", data={"email": patient.email, "csrf_token": csrf_token(anonymous, "/password/forgot")}
    )
    _one(db, "password.reset_requested", target_id=patient.id)
    body = db.session.scalar(db.select(OutboundEmail.body).order_by(OutboundEmail.id.desc()))
    link = re.search(r"/password/reset\?token=\S+", body).group(0)
    token = csrf_token(anonymous, link)
    anonymous.post(link, data={"password": PASSWORD + "x", "confirm": PASSWORD + "x", "csrf_token": token})
    _one(db, "password.reset", target_id=patient.id)

    # Two-step sign-in: enrol, reissue codes, turn off; an admin's reset of a coach.
    client = app.test_client()
    assert login(client, patient, PASSWORD + "x").status_code == 302
    client.get("/account/two-factor")
    db.session.refresh(patient)
    token = csrf_token(client, "/account/two-factor")
    client.post("/account/two-factor", data={"code": pyotp.TOTP(patient.totp_secret).now(), "csrf_token": token})
    _one(db, "2fa.enable", actor_id=patient.id, target_id=patient.id)
    admin_client = _client_for(app, admin)
    admin_client.post(
        f"/admin/accounts/{coach.id}/reset-two-factor", data={"csrf_token": csrf_token(admin_client, "/account")}
    )
    _one(db, "2fa.reset", actor_id=admin.id, target_id=coach.id)


def test_account_changes(app, db, world):
    admin, patient, coach2 = world["admin"], world["patient"], world["coach2"]
    client = _client_for(app, admin)
    _submit(client, f"/admin/accounts/{patient.id}/edit", r"/edit$", name="Maria G. Gonzalez")
    _one(db, "account.update", actor_id=admin.id, target_id=patient.id, patient_id=patient.id)
    asked = _submit(client, f"/admin/accounts/{patient.id}", r"/reassign$", **{"reassign-coach_id": str(coach2.id)})
    assert asked.status_code == 200 and not _events(db, "account.reassign_coach")
    _submit(
        client,
        f"/admin/accounts/{patient.id}",
        r"/reassign$",
        **{"reassign-coach_id": str(coach2.id), "reassign-confirm": "yes"},
    )
    _one(db, "account.reassign_coach", actor_id=admin.id, patient_id=patient.id)
    _submit(client, f"/admin/accounts/{patient.id}/deactivate", r"/deactivate$", reason="Moved out of state")
    event = _one(db, "account.deactivate", actor_id=admin.id, target_id=patient.id)
    assert event.detail_dict == {"name": patient.name, "reason": "Moved out of state"}
    _submit(client, f"/admin/accounts/{patient.id}", r"/reactivate$")
    _one(db, "account.reactivate", actor_id=admin.id, target_id=patient.id)
    clinic_id = patient.clinic_id
    response = _submit(
        client,
        "/admin/accounts/new",
        r"/new$",
        email="new.patient@example.org",
        name="New Patient",
        role="patient",
        clinic_id=str(clinic_id),
        coach_id=str(coach2.id),
        phone="(972) 555-0150",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    created = db.session.scalar(email_lookup("new.patient@example.org"))
    _one(db, "account.create", actor_id=admin.id, target_id=created.id)


def test_staff_views_plan_changes_alert_resolution_and_exports(app, db, world):
    coach, patient = world["coach"], world["patient"]
    client = _client_for(app, coach)
    # Staff views of the patient's record.
    for path in (
        f"/coach/patients/{patient.id}",
        f"/coach/patients/{patient.id}/checkins",
        f"/coach/patients/{patient.id}/progress/data.json",
        f"/messages/patients/{patient.id}",
    ):
        before = len(db.session.scalars(db.select(AuditEvent.id).where(AuditEvent.patient_id == patient.id)).all())
        assert client.get(path).status_code == 200, path
        after = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.patient_id == patient.id).order_by(AuditEvent.id)
        ).all()
        assert len(after) == before + 1, f"viewing {path} was not audited"
        assert after[-1].actor_id == coach.id and after[-1].action in ("patient.view", "messages.view")

    # Plan changes.
    plan = db.session.scalar(db.select(Plan).where(Plan.patient_id == patient.id, Plan.status == PlanStatus.ACTIVE))
    page = f"/coach/patients/{patient.id}/plans/{plan.id}/details"
    response = _submit(client, page, r"/details$", goals="Walk 20 minutes without a spasm.")
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
    _one(db, "plan.update", actor_id=coach.id, patient_id=patient.id)
    item_page = f"/coach/patients/{patient.id}"
    response = _submit(client, item_page, r"/items/\d+/remove$")
    assert response.status_code in (302, 303)
    _one(db, "plan.item_remove", actor_id=coach.id, patient_id=patient.id)

    # Alert resolution.
    alert = db.session.scalar(
        db.select(Alert)
        .where(Alert.resolved_at.is_(None), Alert.patient_id.in_(db.select(User.id).where(User.coach_id == coach.id)))
        .limit(1)
    )
    assert alert is not None, "the demo data has an open alert for this coach"
    token = csrf_token(client, "/coach/alerts")
    response = client.post(
        f"/coach/alerts/{alert.id}/resolve",
        data={"note": "Called, doing better.", "csrf_token": token, "resume": "yes"},
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
    _one(db, "alert.resolve", actor_id=coach.id, patient_id=alert.patient_id, target_id=alert.id)

    # Exports: the patient's own data, and the audit log itself.
    mine = _client_for(app, patient)
    assert mine.get("/me/export.json").status_code == 200
    assert mine.get("/me/export-csv.zip").status_code == 200
    exports = _events(db, "data.export")
    assert {e.detail_dict.get("format") for e in exports} == {"json", "csv"}
    assert all(e.actor_id == patient.id and e.patient_id == patient.id for e in exports)


# --- the admin audit page -----------------------------------------------------------------


def test_audit_page_filters_by_actor_patient_action_and_date(app, db, world, admin_client, admin):
    from portal import audit

    patient, coach = world["patient"], world["coach"]
    old = audit.record("patient.view", patient, actor=coach, patient=patient)
    old.at = utcnow() - timedelta(days=40)
    audit.record("plan.update", patient, actor=coach, patient=patient)
    audit.record("login.success", coach, actor=coach)
    db.session.commit()

    def rows(query: str) -> list[str]:
        response = admin_client.get(f"/admin/audit.csv?{query}")
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment")
        return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))

    by_patient = rows(f"patient={patient.email}")
    assert {"patient.view", "plan.update"} <= {r["action"] for r in by_patient}
    assert all(r["patient"] == patient.email for r in by_patient)
    assert "login.success" not in {r["action"] for r in by_patient}
    assert {r["action"] for r in rows(f"actor={coach.email}&action=plan.update")} == {"plan.update"}
    recent = rows(f"actor={coach.email}&date_from={(utcnow() - timedelta(days=7)).date()}")
    assert "patient.view" not in {r["action"] for r in recent}
    old_only = rows(f"actor={coach.email}&date_to={(utcnow() - timedelta(days=30)).date()}")
    assert [r["action"] for r in old_only] == ["patient.view"]
    # Exporting the log is itself audited.
    assert _events(db, "audit.export")[-1].actor_id == admin.id
    page = admin_client.get(f"/admin/audit?patient={patient.email}").get_data(as_text=True)
    entries = page[page.index('class="list-unstyled audit-log"') :]
    assert "Changed plan" in entries and "Signed in" not in entries


def test_audit_log_is_for_admins_only(coach_client, patient_client):
    for client in (coach_client, patient_client):
        assert client.get("/admin/audit").status_code == 403
        assert client.get("/admin/audit.csv").status_code == 403


def test_events_cannot_be_changed_or_deleted(db, world):
    event = _events(db, "account.create")[0]
    event.action = "something.else"
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(RuntimeError):
        db.session.delete(db.session.get(AuditEvent, event.id))
        db.session.flush()
    db.session.rollback()
