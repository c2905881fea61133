"""Pausing one plan item: the service, the coach's Pause and Resume, and what the patient sees."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care import pauses
from portal.care.checkins import patient_today
from portal.care.models import ItemLog, PlanItemPause
from portal.care.plans import active_plan, assign_program, end_plan, remove_item
from portal.care.today import ItemPaused, log_session, session_items, set_done, todays_plan
from portal.errors import BadInput
from portal.extensions import db
from tests.clock import care_clock  # noqa: F401  (the fixture)
from tests.conftest import csrf_token
from tests.plan_factories import make_item, make_plan, make_program
from tests.test_api import API, bearer, sign_in
from tests.test_checkins import form_data
from tests.test_fhir import validate_resource

pytestmark = pytest.mark.usefixtures("care_clock")

REASON = "Let the knee settle after the flare on Tuesday"


@pytest.fixture
def plan(patient, coach):
    """Two movements and a posture habit, each due every day once."""
    plan = make_plan(
        patient,
        coach,
        [make_item(title="Cat-cow stretch"), make_item(title="Pelvic tilt"), make_item("posture", "Sit tall")],
    )
    for item in plan.items:
        item.times_per_day = 1
    db.session.commit()
    return plan


def _pauses(item_id: int) -> list[PlanItemPause]:
    return list(
        db.session.scalars(
            db.select(PlanItemPause).where(PlanItemPause.plan_item_id == item_id).order_by(PlanItemPause.id)
        )
    )


def _actions(*codes: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.action.in_(codes)).order_by(AuditEvent.id)))


def _pause(plan, item, coach, reason: str = REASON) -> PlanItemPause:
    plan = active_plan(plan.patient_id)
    item = next(row for row in plan.items if row.id == item.id)
    pause = pauses.pause_item(plan, item, reason, coach)
    db.session.commit()
    return pause


def _resume(plan, item, coach) -> PlanItemPause:
    plan = active_plan(plan.patient_id)
    item = next(row for row in plan.items if row.id == item.id)
    pause = pauses.resume_item(plan, item, coach)
    db.session.commit()
    return pause


# --- the service ---------------------------------------------------------------------------


def test_pause_and_resume_keep_each_period_with_who_why_and_days(patient, coach, plan):
    item = plan.items[0]
    version = plan.version
    _pause(plan, item, coach)
    today = patient_today(patient)
    [pause] = _pauses(item.id)
    assert (pause.started_on, pause.ended_on, pause.reason, pause.paused_by_id) == (today, None, REASON, coach.id)
    assert pause.open_key == 1 and pause.covers(today)
    db.session.refresh(plan)
    assert plan.version == version + 1  # a plan change like any other: older forms are now stale
    _resume(plan, item, coach)
    db.session.expire_all()
    [pause] = _pauses(item.id)
    assert (pause.ended_on, pause.resumed_by_id, pause.open_key) == (today, coach.id, None)
    assert pause.ended_at is not None and not pause.covers(today)
    # Paused again later: a second period; the first stays as history.
    _pause(plan, item, coach, "Sore again")
    assert [p.reason for p in _pauses(item.id)] == [REASON, "Sore again"]
    events = _actions("plan.item_pause", "plan.item_resume")
    assert [e.action for e in events] == ["plan.item_pause", "plan.item_resume", "plan.item_pause"]
    assert events[0].actor_id == coach.id and events[0].patient_id == patient.id
    assert REASON in (events[0].detail or "")


def test_pausing_twice_and_resuming_what_is_not_paused_are_refused(patient, coach, plan):
    item = plan.items[0]
    with pytest.raises(pauses.PauseError, match="^“Cat-cow stretch” is not paused\\.$"):
        _resume(plan, item, coach)
    db.session.rollback()
    _pause(plan, item, coach)
    with pytest.raises(pauses.PauseError, match="^“Cat-cow stretch” is already paused\\.$"):
        _pause(plan, item, coach, "Again")
    db.session.rollback()
    assert len(_pauses(item.id)) == 1


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Write the reason the patient will see."),
        ("   ", "Write the reason the patient will see."),
        ("x" * (pauses.MAX_REASON + 1), f"Keep the reason under {pauses.MAX_REASON} characters."),
    ],
)
def test_the_service_refuses_an_empty_or_overlong_reason(patient, coach, plan, reason, message):
    with pytest.raises(BadInput) as refused:
        _pause(plan, plan.items[0], coach, reason)
    assert str(refused.value) == message
    db.session.rollback()
    assert _pauses(plan.items[0].id) == []


def test_a_reason_of_exactly_the_limit_is_kept(patient, coach, plan):
    reason = "x" * pauses.MAX_REASON
    _pause(plan, plan.items[0], coach, reason)
    assert [p.reason for p in _pauses(plan.items[0].id)] == [reason]


def test_pause_and_resume_are_audited_on_the_plan_with_the_item(patient, coach, plan, make_user):
    # Another patient's plan is paused too, so each event must name its own plan, patient and item.
    other = make_user(Role.PATIENT, coach=coach, name="Rosa Ruiz")
    other_plan = make_plan(other, coach, [make_item(title="Bridge")])
    item = plan.items[1]
    title = item.library_item.title
    _pause(other_plan, other_plan.items[0], coach)
    _pause(plan, item, coach)
    _resume(plan, item, coach)
    events = _actions("plan.item_pause", "plan.item_resume")[1:]
    assert [(e.action, e.actor_id, e.patient_id, e.target_type, e.target_id, json.loads(e.detail)) for e in events] == [
        (
            "plan.item_pause",
            coach.id,
            patient.id,
            "Plan",
            plan.id,
            {"item": title, "item_id": item.id, "reason": REASON},
        ),
        ("plan.item_resume", coach.id, patient.id, "Plan", plan.id, {"item": title, "item_id": item.id}),
    ]


def test_pause_and_resume_days_are_the_patients_local_days(coach, make_user):
    """The patient lives where the date is not UTC's at the frozen clock: already tomorrow
    (UTC+14) in the afternoon UTC, still yesterday (UTC-11) in the morning."""
    zone = "Pacific/Kiritimati" if datetime.now(UTC).hour >= 12 else "Pacific/Pago_Pago"
    far = make_user(Role.PATIENT, coach=coach, timezone=zone)
    plan = make_plan(far, coach, [make_item(title="Bridge")])
    item = plan.items[0]
    local = patient_today(far)
    assert local != datetime.now(UTC).date()
    pause = _pause(plan, item, coach)
    assert pause.started_on == local
    pause.started_on = local - timedelta(days=3)  # paused a few days ago, resumed today
    db.session.commit()
    assert _resume(plan, item, coach).ended_on == local


def test_the_database_keeps_one_open_pause_per_item(patient, coach, plan):
    item = plan.items[0]
    day = patient_today(patient)
    db.session.add(PlanItemPause(plan_item_id=item.id, started_on=day, reason="a", paused_by_id=coach.id))
    db.session.commit()
    db.session.add(PlanItemPause(plan_item_id=item.id, started_on=day, reason="b", paused_by_id=coach.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_paused_item_cannot_be_logged_but_can_be_taken_back(patient, coach, plan):
    item = plan.items[0]
    log_session(patient, item)
    _pause(plan, item, coach)
    with pytest.raises(
        ItemPaused, match=r"^Your coach has paused this item\. It will come back on your plan when they resume it\.$"
    ):
        log_session(patient, item)
    with pytest.raises(ItemPaused):
        set_done(patient, item, True)
    log_session(patient, item, undo=True)  # taking a session back is always allowed
    db.session.commit()
    assert db.session.scalar(db.select(ItemLog.sessions_done).where(ItemLog.plan_item_id == item.id)) == 0


def test_today_keeps_a_paused_item_in_view_but_out_of_the_count_and_the_session(patient, coach, plan):
    _pause(plan, plan.items[0], coach)
    today = todays_plan(patient)
    assert [entry.coach_pause is not None for entry in today.items] == [True, False, False]
    assert today.total == 2 and [e.plan_item.id for e in session_items(today)] == [plan.items[1].id]
    _resume(plan, plan.items[0], coach)
    today = todays_plan(patient)
    assert today.total == 3 and len(session_items(today)) == 2


def test_removing_an_item_or_ending_the_plan_closes_its_pause(patient, coach, plan):
    today = patient_today(patient)
    for item in plan.items[:2]:
        _pause(plan, item, coach)
    current = active_plan(patient.id)
    remove_item(current, current.items[0], coach)
    db.session.commit()
    db.session.expire_all()
    first, second = _pauses(plan.items[0].id)[0], _pauses(plan.items[1].id)[0]
    assert (first.ended_on, first.open_key, first.resumed_by_id) == (today, None, None)
    assert first.ended_at is not None  # the history says when it stopped
    assert second.open_key == 1  # the other item stays paused
    end_plan(active_plan(patient.id), coach)
    db.session.commit()
    db.session.expire_all()
    assert (_pauses(plan.items[1].id)[0].ended_on, _pauses(plan.items[1].id)[0].open_key) == (today, None)


def test_ending_the_plan_leaves_earlier_resumed_periods_as_they_were(patient, coach, plan):
    today = patient_today(patient)
    item = plan.items[0]
    _pause(plan, item, coach)
    earlier = _resume(plan, item, coach)
    earlier.started_on, earlier.ended_on = today - timedelta(days=5), today - timedelta(days=3)
    db.session.commit()
    ended_at = earlier.ended_at
    _pause(plan, item, coach, "Sore again")
    end_plan(active_plan(patient.id), coach)
    db.session.commit()
    db.session.expire_all()
    first, second = _pauses(item.id)
    assert (first.started_on, first.ended_on, first.ended_at) == (
        today - timedelta(days=5),
        today - timedelta(days=3),
        ended_at,
    )
    assert (second.ended_on, second.open_key) == (today, None)


def test_replacing_the_plan_closes_its_pauses(patient, coach, plan):
    _pause(plan, plan.items[0], coach)
    program = make_program(coach, [make_item(title="Bridge")])
    assign_program(
        patient, program, coach, title="", goals="", start_date=patient_today(patient), replaces=active_plan(patient.id)
    )
    db.session.commit()
    db.session.expire_all()
    assert _pauses(plan.items[0].id)[0].open_key is None


# --- the coach's Pause and Resume ------------------------------------------------------------


def _item_url(patient, plan, item, action: str) -> str:
    return f"/coach/patients/{patient.id}/plans/{plan.id}/items/{item.id}/{action}"


def _version(client, patient) -> str:
    html = client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def _post(client, patient, plan, item, action: str, **data):
    fields = {"csrf_token": csrf_token(client, f"/coach/patients/{patient.id}"), "version": _version(client, patient)}
    fields.update(data)
    return client.post(_item_url(patient, plan, item, action), data={k: v for k, v in fields.items() if v is not None})


def test_coach_pauses_with_a_reason_and_resumes(patient, coach, plan, coach_client):
    item = plan.items[0]
    page = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    card = page[page.index(f'id="plan-item-{item.id}"') : page.index(f'id="plan-item-{plan.items[1].id}"')]
    assert "Reason (shown to the patient)" in card and _item_url(patient, plan, item, "pause") in card
    assert 'maxlength="200"' in card and "required" in card
    response = _post(coach_client, patient, plan, item, "pause", reason=f"  {REASON} ")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#plan-item-{item.id}")
    page = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert "is paused. Pat Patient sees your reason on their plan." in page
    card = page[page.index(f'id="plan-item-{item.id}"') : page.index(f'id="plan-item-{plan.items[1].id}"')]
    assert "Paused since" in card and "by Casey Coach" in card and REASON in card
    assert _item_url(patient, plan, item, "resume") in card and _item_url(patient, plan, item, "pause") not in card
    assert [p.reason for p in _pauses(item.id)] == [REASON]
    response = _post(coach_client, patient, plan, item, "resume")
    assert response.status_code == 302
    page = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert "is back on Pat Patient&#39;s plan." in page or "is back on Pat Patient's plan." in page
    card = page[page.index(f'id="plan-item-{item.id}"') : page.index(f'id="plan-item-{plan.items[1].id}"')]
    assert _item_url(patient, plan, item, "pause") in card and "Paused since" not in card


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        (None, "Write the reason the patient will see."),
        ("   ", "Write the reason the patient will see."),
        ("x" * 201, "Keep the reason under 200 characters."),
        ("two\nlines", None),
    ],
)
def test_a_missing_overlong_or_multi_line_reason_is_422_beside_the_field(
    patient, coach, plan, coach_client, reason, message
):
    item = plan.items[1]
    response = _post(coach_client, patient, plan, item, "pause", reason=reason)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    card = html[html.index(f'id="plan-item-{item.id}"') : html.index(f'id="plan-item-{plan.items[2].id}"')]
    assert '<details class="pause-item" open>' in card
    assert f'id="pause-reason-{item.id}-error"' in card and 'aria-invalid="true"' in card
    if message:
        assert message in card
    assert _pauses(item.id) == []


def test_without_the_csrf_token_nothing_is_paused(patient, coach, plan, coach_client):
    item = plan.items[0]
    response = _post(coach_client, patient, plan, item, "pause", reason=REASON, csrf_token=None)
    assert response.status_code == 400
    assert _pauses(item.id) == []
    _pause(plan, item, coach)
    response = _post(coach_client, patient, plan, item, "resume", csrf_token=None)
    assert response.status_code == 400
    assert _pauses(item.id)[0].open_key == 1


def test_a_stale_pause_or_resume_is_409_and_changes_nothing(patient, coach, plan, coach_client):
    item = plan.items[0]
    stale = _version(coach_client, patient)
    coach_client.post(
        f"/coach/patients/{patient.id}/plans/{plan.id}/items/{plan.items[1].id}/move",
        data={
            "csrf_token": csrf_token(coach_client, f"/coach/patients/{patient.id}"),
            "version": stale,
            "direction": "up",
        },
    )
    response = _post(coach_client, patient, plan, item, "pause", reason=REASON, version=stale)
    assert response.status_code == 409
    assert "This plan changed since you opened it" in response.get_data(as_text=True)
    assert _pauses(item.id) == []
    _pause(plan, item, coach)
    response = _post(coach_client, patient, plan, item, "resume", version=stale)
    assert response.status_code == 409
    db.session.expire_all()
    assert _pauses(item.id)[0].open_key == 1


def test_pausing_twice_and_resuming_a_running_item_are_409_with_a_clear_message(patient, coach, plan, coach_client):
    item = plan.items[0]
    response = _post(coach_client, patient, plan, item, "resume")
    assert response.status_code == 409 and "“Cat-cow stretch” is not paused." in response.get_data(as_text=True)
    assert _post(coach_client, patient, plan, item, "pause", reason=REASON).status_code == 302
    response = _post(coach_client, patient, plan, item, "pause", reason="Again")
    assert response.status_code == 409 and "“Cat-cow stretch” is already paused." in response.get_data(as_text=True)
    assert [p.reason for p in _pauses(item.id)] == [REASON]


def test_only_the_patients_coach_may_pause(patient, coach, plan, make_user, login_as, admin_client):
    other_coach = make_user(Role.COACH, name="Other Coach")
    other_patient = make_user(Role.PATIENT, coach=other_coach)
    other_plan = make_plan(other_patient, other_coach, [make_item(title="Bridge")])
    item = plan.items[0]
    intruder = login_as(other_coach)
    token = csrf_token(intruder, "/coach/")
    data = {"csrf_token": token, "version": str(plan.version), "reason": REASON}
    assert intruder.post(_item_url(patient, plan, item, "pause"), data=data).status_code == 404
    assert intruder.post(_item_url(patient, plan, item, "resume"), data=data).status_code == 404
    # The patient's own coach with another coach's item id in the URL: not found either.
    own = login_as(coach)
    token = csrf_token(own, f"/coach/patients/{patient.id}")
    forged = f"/coach/patients/{patient.id}/plans/{plan.id}/items/{other_plan.items[0].id}/pause"
    assert own.post(forged, data={**data, "csrf_token": token}).status_code == 404
    forged_plan = f"/coach/patients/{patient.id}/plans/{other_plan.id}/items/{other_plan.items[0].id}/pause"
    assert own.post(forged_plan, data={**data, "csrf_token": token, "version": "1"}).status_code == 404
    # Admins and patients do not use coach pages.
    token = csrf_token(admin_client, "/admin/")
    assert (
        admin_client.post(_item_url(patient, plan, item, "pause"), data={**data, "csrf_token": token}).status_code
        == 403
    )
    assert _pauses(item.id) == [] and _pauses(other_plan.items[0].id) == []


def test_a_removed_item_cannot_be_paused(patient, coach, plan, coach_client):
    item = plan.items[0]
    item.is_active = False
    db.session.commit()
    assert _post(coach_client, patient, plan, item, "pause", reason=REASON).status_code == 404


# --- what the patient sees ------------------------------------------------------------------


def test_today_shows_the_paused_item_with_the_reason_and_no_button(patient, coach, plan, patient_client):
    _pause(plan, plan.items[0], coach)
    html = patient_client.get("/me/").get_data(as_text=True)
    card = html[html.index(f'id="item-{plan.items[0].id}"') : html.index(f'id="item-{plan.items[1].id}"')]
    assert f"Paused by your coach:</strong> {REASON}" in card
    assert "Mark<span" not in card and "data-mark-form" not in card
    assert "0 of 2 sessions done today" in html
    assert html.count("data-mark-form") == 2
    token = csrf_token(patient_client, "/me/")
    response = patient_client.post(f"/me/today/items/{plan.items[0].id}", data={"csrf_token": token, "done": "1"})
    assert response.status_code == 409 and "Your coach has paused this item" in response.get_data(as_text=True)
    # The guided session goes straight to the other movement.
    step = patient_client.get("/me/today/session/1").get_data(as_text=True)
    assert "Pelvic tilt" in step and "Cat-cow stretch" not in step
    _resume(plan, plan.items[0], coach)
    html = patient_client.get("/me/").get_data(as_text=True)
    card = html[html.index(f'id="item-{plan.items[0].id}"') : html.index(f'id="item-{plan.items[1].id}"')]
    assert "Paused by your coach" not in card and "data-mark-form" in card
    assert "0 of 3 sessions done today" in html


COACH_PAUSED = "Your coach has paused this item. It will come back on your plan when they resume it."


def test_a_paused_item_gets_one_answer_everywhere(patient, coach, plan, patient_client, client):
    """The guided session opened before the pause: its "Done" names the movement it showed, so that
    movement is refused (409, the same message as Today and the API) and the next one is shown."""
    step = patient_client.get("/me/today/session/1").get_data(as_text=True)
    assert "Cat-cow stretch" in step and f'name="item" value="{plan.items[0].id}"' in step
    _pause(plan, plan.items[0], coach)
    token = csrf_token(patient_client, "/me/")
    done = {"csrf_token": token, "done": "1", "item": plan.items[0].id}
    response = patient_client.post("/me/today/session/1", data=done)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and COACH_PAUSED in html
    assert "Pelvic tilt" in html and "Movement 1 of 1" in html
    fetched = patient_client.post("/me/today/session/1", data=done, headers={"Accept": "application/json"})
    assert fetched.status_code == 409 and fetched.get_json()["detail"] == COACH_PAUSED
    page = patient_client.post(f"/me/today/items/{plan.items[0].id}", data={"csrf_token": token, "done": "1"})
    assert page.status_code == 409 and COACH_PAUSED in page.get_data(as_text=True)
    assert "<h1>Today</h1>" in page.get_data(as_text=True)
    api = client.put(
        f"{API}/me/today/items/{plan.items[0].id}", json={"done": True}, headers=bearer(sign_in(client, patient))
    )
    assert api.status_code == 409 and api.get_json()["detail"] == COACH_PAUSED
    assert db.session.scalar(db.select(db.func.count(ItemLog.id))) == 0


def test_every_item_paused_says_so_instead_of_a_count(patient, coach, plan, patient_client):
    for item in plan.items:
        _pause(plan, item, coach)
    html = patient_client.get("/me/").get_data(as_text=True)
    assert "Your coach has paused today&#39;s items." in html or "Your coach has paused today's items." in html
    assert "done today" not in html and "Start today&#39;s session" not in html


def test_my_plan_and_the_item_page_show_the_reason(patient, coach, plan, patient_client):
    _pause(plan, plan.items[0], coach)
    html = patient_client.get("/me/plan").get_data(as_text=True)
    card = html[html.index(f'id="plan-item-{plan.items[0].id}"') : html.index(f'id="plan-item-{plan.items[1].id}"')]
    assert f"Paused by your coach:</strong> {REASON}" in card
    # The week grid counts the two running items each day.
    counts = re.findall(r'<td class="text-center text-body-secondary[^"]*">(\w+)</td>', html)
    assert counts == ["2"] * 7
    detail = patient_client.get(f"/library/{plan.items[0].library_item_id}").get_data(as_text=True)
    assert f"Paused by your coach:</strong> {REASON}" in detail
    other = patient_client.get(f"/library/{plan.items[1].library_item_id}").get_data(as_text=True)
    assert "Paused by your coach" not in other


def test_the_reason_is_escaped(patient, coach, plan, patient_client):
    _pause(plan, plan.items[0], coach, "<script>alert(1)</script>")
    html = patient_client.get("/me/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_the_checkin_leaves_a_paused_item_alone(patient, coach, plan, patient_client):
    item = plan.items[0]
    log_session(patient, item)
    db.session.commit()
    _pause(plan, item, coach)
    page = patient_client.get("/me/checkin").get_data(as_text=True)
    assert "Cat-cow stretch" not in page and "Pelvic tilt" in page
    # Sent from a form opened before the pause, with the item ticked: accepted, its log left as it was.
    # The item after it on the plan is ticked too: that tick is kept.
    ticked = [str(item.id), str(plan.items[1].id)]
    response = patient_client.post("/me/checkin", data=form_data(patient_client, items_done=ticked))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(db.select(ItemLog.sessions_done).where(ItemLog.plan_item_id == item.id)) == 1
    assert db.session.scalar(db.select(ItemLog.sessions_done).where(ItemLog.plan_item_id == plan.items[1].id)) == 1


def test_the_api_says_which_item_is_paused_and_refuses_marking_it(patient, coach, plan, client):
    _pause(plan, plan.items[0], coach)
    headers = bearer(sign_in(client, patient))
    today = client.get(f"{API}/me/today", headers=headers).get_json()
    assert [row["paused_reason"] for row in today["items"]] == [REASON, None, None]
    assert today["total"] == 2
    response = client.put(f"{API}/me/today/items/{plan.items[0].id}", json={"done": True}, headers=headers)
    assert response.status_code == 409 and "Your coach has paused this item" in response.get_json()["detail"]
    items = client.get(f"{API}/me/plan", headers=headers).get_json()["items"]
    assert items[0]["paused_reason"] == REASON


def test_the_fhir_record_puts_a_paused_item_on_hold_with_the_reason(patient, coach, plan, patient_client):
    _pause(plan, plan.items[1], coach)
    bundle = patient_client.get("/me/export.fhir.json").json
    careplan = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan")
    details = [activity["detail"] for activity in careplan["activity"]]
    assert [d["status"] for d in details] == ["in-progress", "on-hold", "in-progress"]
    assert details[1]["statusReason"] == {"text": REASON} and "statusReason" not in details[0]
    validate_resource(careplan)


def test_the_patients_own_export_keeps_every_pause_and_its_reason(patient, coach, plan, patient_client):
    item = plan.items[0]
    _pause(plan, item, coach, "=cmd|' /C calc'!A0")
    _resume(plan, item, coach)
    _pause(plan, item, coach)
    data = patient_client.get("/me/export.json").get_json()
    today = patient_today(patient).isoformat()
    assert [(p["item"], p["paused_from"], p["paused_until"]) for p in data["plan_item_pauses"]] == [
        ("Cat-cow stretch", today, today),
        ("Cat-cow stretch", today, None),
    ]
    assert data["plan_item_pauses"][1]["reason"] == REASON
    archive = zipfile.ZipFile(io.BytesIO(patient_client.get("/me/export-csv.zip").data))
    rows = list(csv.DictReader(io.StringIO(archive.read("plan_item_pauses.csv").decode("utf-8-sig"))))
    assert [row["reason"] for row in rows] == ["'=cmd|' /C calc'!A0", REASON]  # formula neutralised
