"""The care state of the pages, through the API: the safety box and paused items on Today, and the coach's
actions on them (resolve with resume, resume exercises, pause and resume one item) by the pages' services."""

from __future__ import annotations

import pytest

from portal.audit import AuditEvent
from portal.care.models import Alert
from portal.care.pauses import pause_item
from portal.extensions import db as _db
from tests.plan_factories import make_item, make_plan
from tests.test_api import API, assert_problem, bearer, sign_in


@pytest.fixture
def plan(patient, coach):
    return make_plan(
        patient, coach, [make_item(title="Cat-cow stretch"), make_item(title="Desk posture", kind="posture")]
    )


@pytest.fixture
def phones(app, patient, coach, plan):
    return bearer(sign_in(app.test_client(), patient)), bearer(sign_in(app.test_client(), coach))


def _today(client, me) -> dict:
    response = client.get(f"{API}/me/today", headers=me)
    assert response.status_code == 200
    return response.json


def _red_flag(client, me, **answers) -> dict:
    saved = client.put(f"{API}/me/checkins/today", json={"pain": 6, "stiffness": 5, **answers}, headers=me)
    assert saved.status_code == 200, saved.json
    return saved.json


def test_a_red_flag_pauses_exercises_and_shows_its_advice_on_today(client, patient, plan, phones):
    me, _staff = phones
    calm = _today(client, me)
    assert calm["safety"] is None and all(item["paused"] is None for item in calm["items"])
    saved = _red_flag(client, me, rf_walking=True)
    assert saved["safety_advice"]["tier"] == "today"
    today = _today(client, me)
    safety = today["safety"]
    assert (safety["tier"], safety["severity"], safety["heading"]) == ("today", "Urgent", "Call your clinic today")
    assert safety["clinic_phone"] == patient.clinic.phone and safety["exercises_paused"] is True
    assert safety["acknowledged_by"] is None and safety["acknowledged_at"] is None
    exercise, posture = today["items"]
    assert exercise["paused"]["by"] == "red_flag" and exercise["paused"]["since"] and exercise["paused"]["reason"]
    assert posture["paused"] is None  # posture habits stay available
    refused = client.put(f"{API}/me/today/items/{exercise['id']}", json={"sessions_done": 1}, headers=me)
    assert assert_problem(refused, 409)["code"] == "item_paused"
    assert client.put(f"{API}/me/today/items/{posture['id']}", json={"sessions_done": 1}, headers=me).status_code == 200


def test_an_emergency_answer_gives_the_emergency_advice(client, plan, phones):
    me, _staff = phones
    saved = _red_flag(client, me, rf_bladder_bowel=True, rf_walking=True)
    assert saved["safety_advice"]["tier"] == "emergency"
    assert saved["safety_advice"]["title"] == "Call 911 or go to the nearest emergency room now"
    safety = _today(client, me)["safety"]
    assert (safety["tier"], safety["severity"]) == ("emergency", "Emergency")


def test_the_coach_resolves_with_resume_and_the_items_come_back(client, patient, coach, plan, phones):
    me, staff = phones
    _red_flag(client, me, rf_walking=True)
    (alert,) = client.get(f"{API}/coach/alerts", headers=staff).json["items"]
    resolved = client.post(
        f"{API}/coach/alerts/{alert['id']}/resolve",
        json={"note": "Called; seen at the clinic.", "resume_exercises": True},
        headers=staff,
    )
    assert resolved.status_code == 200 and resolved.json["resolved_at"]
    today = _today(client, me)
    assert today["safety"] is None and all(item["paused"] is None for item in today["items"])
    exercise = today["items"][0]
    assert (
        client.put(f"{API}/me/today/items/{exercise['id']}", json={"sessions_done": 1}, headers=me).status_code == 200
    )
    actions = set(
        _db.session.scalars(
            _db.select(AuditEvent.action).where(AuditEvent.actor_id == coach.id, AuditEvent.patient_id == patient.id)
        )
    )
    assert {"alert.resolve", "exercises.resume"} <= actions


def test_resolving_without_resume_keeps_the_pause_until_the_coach_resumes(client, plan, phones, patient):
    me, staff = phones
    _red_flag(client, me, rf_walking=True)
    alert_id = _db.session.scalar(_db.select(Alert.id).where(Alert.patient_id == patient.id))
    client.post(f"{API}/coach/alerts/{alert_id}/resolve", json={"note": "Called."}, headers=staff)
    today = _today(client, me)
    assert today["safety"] is None and today["items"][0]["paused"]["by"] == "red_flag"
    first = client.post(f"{API}/coach/patients/{patient.id}/exercises/resume", headers=staff)
    assert first.status_code == 200 and first.json == {"resumed": True}
    again = client.post(f"{API}/coach/patients/{patient.id}/exercises/resume", headers=staff)
    assert again.json == {"resumed": False}
    assert _today(client, me)["items"][0]["paused"] is None


def test_the_coach_pauses_and_resumes_one_item(app, client, patient, plan, phones, make_user):
    me, staff = phones
    item_id = plan.items[0].id
    url = f"{API}/coach/patients/{patient.id}/plan/items/{item_id}"
    blank = client.post(f"{url}/pause", json={"reason": "   "}, headers=staff)
    assert assert_problem(blank, 422)["errors"][0]["field"] == "reason"
    paused = client.post(f"{url}/pause", json={"reason": "Knee first"}, headers=staff)
    assert paused.status_code == 200 and paused.json["paused_reason"] == "Knee first"
    shown = _today(client, me)["items"][0]
    assert shown["paused"]["by"] == "coach" and shown["paused"]["reason"] == "Knee first"
    assert (
        assert_problem(client.post(f"{url}/pause", json={"reason": "Again"}, headers=staff), 409)["code"]
        == "item_paused"
    )
    resumed = client.post(f"{url}/resume", headers=staff)
    assert resumed.status_code == 200 and resumed.json["paused_reason"] is None
    assert _today(client, me)["items"][0]["paused"] is None
    assert assert_problem(client.post(f"{url}/resume", headers=staff), 409)["code"] == "item_not_paused"
    # Another coach's request, and an item of no active plan of this patient, are 404 as on the pages.
    other = bearer(sign_in(app.test_client(), make_user("coach")))
    assert_problem(client.post(f"{url}/pause", json={"reason": "x"}, headers=other), 404)
    assert_problem(
        client.post(f"{API}/coach/patients/{patient.id}/plan/items/999999/pause", json={"reason": "x"}, headers=staff),
        404,
    )
    assert_problem(client.post(f"{url}/pause", json={"reason": "x"}, headers=me), 403)


def test_todays_statements_do_not_grow_with_items_or_pauses(app, client, make_user, coach, queries):
    """The API's Today reads as many statements for eight items as for two, red flag and coach pause included."""
    counts = []
    for size in (2, 8):
        someone = make_user("patient", coach=coach)
        plan = make_plan(someone, coach, [make_item(title=f"Move {n}") for n in range(size)])
        pause_item(plan, plan.items[-1], "Rest", coach)
        _db.session.commit()
        me = bearer(sign_in(app.test_client(), someone))
        _red_flag(client, me, rf_walking=True)
        client.get(f"{API}/me/today", headers=me)  # the first read warms the activity stamp
        with queries() as statements:
            today = client.get(f"{API}/me/today", headers=me).json
        assert len(today["items"]) == size and today["safety"]["tier"] == "today"
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_the_coach_acknowledges_and_the_patient_sees_who_has_seen_it(
    app, client, patient, coach, plan, phones, make_user
):
    me, staff = phones
    _red_flag(client, me, rf_walking=True)
    alert_id = _db.session.scalar(_db.select(Alert.id).where(Alert.patient_id == patient.id))
    acknowledged = client.post(f"{API}/coach/alerts/{alert_id}/acknowledge", headers=staff)
    assert acknowledged.status_code == 200
    assert acknowledged.json["acknowledged_by"] == coach.name and acknowledged.json["acknowledged_at"]
    safety = _today(client, me)["safety"]
    assert safety["acknowledged_by"] == coach.name and safety["acknowledged_at"]
    (listed,) = client.get(f"{API}/coach/alerts", headers=staff).json["items"]
    assert listed["acknowledged_by"] == coach.name and listed["acknowledged_at"] == acknowledged.json["acknowledged_at"]
    again = client.post(f"{API}/coach/alerts/{alert_id}/acknowledge", headers=staff)
    assert again.status_code == 200 and again.json["acknowledged_at"] == acknowledged.json["acknowledged_at"]
    other = bearer(sign_in(app.test_client(), make_user("coach")))
    assert_problem(client.post(f"{API}/coach/alerts/{alert_id}/acknowledge", headers=other), 404)
    client.post(f"{API}/coach/alerts/{alert_id}/resolve", json={"note": "Seen."}, headers=staff)
    closed = client.post(f"{API}/coach/alerts/{alert_id}/acknowledge", headers=staff)
    assert assert_problem(closed, 409)["code"] == "alert_closed"
    assert "alert.acknowledge" in set(
        _db.session.scalars(_db.select(AuditEvent.action).where(AuditEvent.actor_id == coach.id))
    )
