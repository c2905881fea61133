"""Alert rules at their boundaries, the scan command, and the coach's alert inbox."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care.alerts import (
    AlertError,
    is_missed,
    open_alert,
    open_alert_count,
    resolve_alert,
    scan_missed_checkins,
    worsening,
)
from portal.care.checkins import patient_today, save_checkin
from portal.care.models import Alert, AlertKind, CheckIn, Plan, PlanStatus
from tests.clock import care_clock  # noqa: F401  (the fixture)
from tests.conftest import csrf_token
from tests.test_checkins import make_plan

# The care rules depend on the patient's local day: run at a chosen instant, not the machine's today.
pytestmark = pytest.mark.usefixtures("care_clock")

D = date(2026, 3, 20)


def add_checkins(db, patient, pains_by_offset: dict[int, int]) -> None:
    """Check-ins at D - offset with the given pain."""
    for offset, pain in pains_by_offset.items():
        db.session.add(CheckIn(patient_id=patient.id, day=D - timedelta(days=offset), pain=pain, stiffness=0))
    db.session.commit()


# --- pain worsening: recent = D-2..D, baseline = D-9..D-3 -------------------------------


def test_worsening_exactly_two_points_opens(db, patient):
    add_checkins(db, patient, {0: 6, 1: 6, 2: 6} | {o: 4 for o in range(3, 10)})
    assert worsening(patient.id, D) == (6.0, 4.0)


def test_worsening_just_under_two_points_does_not(db, patient):
    # recent 17/3 = 5.67, baseline 4.0 -> 1.67 points
    add_checkins(db, patient, {0: 6, 1: 6, 2: 5} | {o: 4 for o in range(3, 10)})
    assert worsening(patient.id, D) is None


def test_worsening_fractional_boundary_is_exact(db, patient):
    # recent 6.0, baseline 27/7 = 3.857 -> 2.14 points: opens; with 29/7 = 4.14 -> 1.86: not.
    add_checkins(db, patient, {0: 6, 1: 6, 2: 6, 3: 3, 4: 4, 5: 4, 6: 4, 7: 4, 8: 4, 9: 4})
    assert worsening(patient.id, D) is not None
    db.session.execute(db.delete(CheckIn))
    add_checkins(db, patient, {0: 6, 1: 6, 2: 6, 3: 5, 4: 4, 5: 4, 6: 4, 7: 4, 8: 4, 9: 4})
    assert worsening(patient.id, D) is None


def test_worsening_ignores_days_outside_the_windows(db, patient):
    # Day D-10 (pain 0) is outside the baseline; D+1 is after the evaluated day.
    add_checkins(db, patient, {-1: 0, 0: 6, 1: 6, 2: 6, 3: 4, 4: 4, 5: 4, 10: 0, 11: 0})
    assert worsening(patient.id, D) == (6.0, 4.0)


def test_worsening_needs_enough_data(db, patient):
    # Only 1 recent check-in.
    add_checkins(db, patient, {0: 9, 3: 2, 4: 2, 5: 2})
    assert worsening(patient.id, D) is None
    # 2 recent but only 2 baseline check-ins.
    db.session.execute(db.delete(CheckIn))
    add_checkins(db, patient, {0: 9, 1: 9, 3: 2, 9: 2})
    assert worsening(patient.id, D) is None
    # 2 recent and 3 baseline: enough.
    db.session.execute(db.delete(CheckIn))
    add_checkins(db, patient, {0: 9, 1: 9, 3: 2, 8: 2, 9: 2})
    assert worsening(patient.id, D) == (9.0, 2.0)


def test_saving_a_worse_checkin_opens_one_worsening_alert(db, patient):
    today = patient_today(patient)
    for offset in range(3, 10):
        db.session.add(CheckIn(patient_id=patient.id, day=today - timedelta(days=offset), pain=3, stiffness=3))
    for offset in (1, 2):
        db.session.add(CheckIn(patient_id=patient.id, day=today - timedelta(days=offset), pain=6, stiffness=3))
    db.session.commit()
    result = save_checkin(patient, today, {"pain": 6, "stiffness": 3})
    db.session.commit()
    assert [a.kind for a in result.alerts] == [AlertKind.PAIN_WORSENING]
    assert "up from 3.0" in result.alerts[0].summary
    again = save_checkin(patient, today, {"pain": 7, "stiffness": 3})
    db.session.commit()
    assert again.alerts == []
    assert db.session.scalar(db.select(db.func.count(Alert.id))) == 1


# --- missed check-ins ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan_start_offset", "last_offset", "expected"),
    [
        (30, 4, True),  # last check-in 4 days ago: T-3, T-2, T-1 and today are empty
        (30, 3, False),  # T-3 has one
        (30, 0, False),  # checked in today
        (30, None, True),  # never checked in, plan long active
        (3, None, True),  # plan started exactly 3 days ago
        (2, None, False),  # plan only 2 days old
    ],
)
def test_is_missed_boundaries(plan_start_offset, last_offset, expected):
    last = None if last_offset is None else D - timedelta(days=last_offset)
    assert is_missed(D, D - timedelta(days=plan_start_offset), last) is expected


def test_scan_opens_missed_alerts_once_and_only_for_active_plans(db, coach, make_user, app):
    today_patient = make_user(Role.PATIENT, coach=coach)
    quiet = make_user(Role.PATIENT, coach=coach)
    no_plan = make_user(Role.PATIENT, coach=coach)
    ended = make_user(Role.PATIENT, coach=coach)
    for p in (today_patient, quiet, ended):
        make_plan(db, p, coach, n_items=1)
    plan = db.session.scalar(db.select(Plan).where(Plan.patient_id == ended.id))
    plan.status = PlanStatus.ENDED
    plan.active_key = None
    db.session.add(CheckIn(patient_id=today_patient.id, day=patient_today(today_patient), pain=2, stiffness=2))
    db.session.add(CheckIn(patient_id=quiet.id, day=patient_today(quiet) - timedelta(days=5), pain=2, stiffness=2))
    db.session.commit()
    assert no_plan.id  # has no plan: never alerted

    result = scan_missed_checkins()
    db.session.commit()
    assert result.opened == 1
    alerts = db.session.scalars(db.select(Alert)).all()
    assert [(a.patient_id, a.kind) for a in alerts] == [(quiet.id, AlertKind.MISSED_CHECKINS)]

    # Idempotent, through the CLI as cron runs it.
    output = app.test_cli_runner().invoke(args=["alerts", "scan"]).output
    assert "opened 0 alert" in output
    assert db.session.scalar(db.select(db.func.count(Alert.id))) == 1


def test_unique_index_refuses_a_second_open_alert(db, patient):
    open_alert(patient, AlertKind.RED_FLAG, "first")
    db.session.commit()
    db.session.add(Alert(patient_id=patient.id, kind=AlertKind.RED_FLAG, severity=0, summary="dup", open_key=1))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # open_alert itself never fails: it returns the open one.
    alert, created = open_alert(patient, AlertKind.RED_FLAG, "second")
    assert created is False and alert.summary == "first"


def test_resolved_alert_allows_a_new_one(db, patient, coach):
    alert, _ = open_alert(patient, AlertKind.MISSED_CHECKINS, "x")
    db.session.commit()
    resolve_alert(alert, coach, "Called, all fine.")
    db.session.commit()
    _new, created = open_alert(patient, AlertKind.MISSED_CHECKINS, "y")
    db.session.commit()
    assert created is True
    with pytest.raises(AlertError):
        resolve_alert(alert, coach, "again")


# --- inbox -------------------------------------------------------------------------------


def test_inbox_lists_open_alerts_most_urgent_first(db, coach, coach_client, make_user):
    a = make_user(Role.PATIENT, coach=coach, name="Ann Missed")
    b = make_user(Role.PATIENT, coach=coach, name="Bob Redflag")
    c = make_user(Role.PATIENT, coach=coach, name="Cat Worse")
    open_alert(a, AlertKind.MISSED_CHECKINS, "missed")
    open_alert(c, AlertKind.PAIN_WORSENING, "worse")
    open_alert(b, AlertKind.RED_FLAG, "urgent")
    db.session.commit()
    html = coach_client.get("/coach/alerts").get_data(as_text=True)
    positions = [html.index(name) for name in ("Bob Redflag", "Cat Worse", "Ann Missed")]
    assert positions == sorted(positions)
    assert "Urgent" in html
    assert open_alert_count(coach) == 3
    assert re.search(r'data-badge="open_alerts">3', html)


def test_inbox_hides_other_coaches_alerts(db, coach_client, make_user):
    other_coach = make_user(Role.COACH)
    stranger = make_user(Role.PATIENT, coach=other_coach, name="Stranger Danger")
    open_alert(stranger, AlertKind.RED_FLAG, "secret")
    db.session.commit()
    html = coach_client.get("/coach/alerts").get_data(as_text=True)
    assert "Stranger Danger" not in html and "secret" not in html


def test_inbox_is_coach_only(patient_client, admin_client):
    assert patient_client.get("/coach/alerts").status_code == 403
    assert admin_client.get("/coach/alerts").status_code == 403


def test_resolve_with_note_is_audited(db, coach, coach_client, patient):
    alert, _ = open_alert(patient, AlertKind.RED_FLAG, "urgent")
    db.session.commit()
    token = csrf_token(coach_client, "/coach/alerts")
    response = coach_client.post(
        f"/coach/alerts/{alert.id}/resolve", data={"csrf_token": token, "note": "Called her.", "resume": "no"}
    )
    assert response.status_code == 302
    db.session.refresh(alert)
    assert alert.resolved_at is not None and alert.resolved_by_id == coach.id and alert.note == "Called her."
    assert alert.open_key is None
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "alert.resolve"))
    assert event.actor_id == coach.id and event.patient_id == patient.id and event.target_id == alert.id
    resolved = coach_client.get("/coach/alerts?show=resolved").get_data(as_text=True)
    assert "Called her." in resolved and "Casey Coach" in resolved
    # Resolving again: 409, note unchanged.
    again = coach_client.post(f"/coach/alerts/{alert.id}/resolve", data={"csrf_token": token, "note": "Other"})
    assert again.status_code == 409
    db.session.refresh(alert)
    assert alert.note == "Called her."


def test_resolve_needs_a_note(db, coach_client, patient):
    alert, _ = open_alert(patient, AlertKind.RED_FLAG, "urgent")
    db.session.commit()
    token = csrf_token(coach_client, "/coach/alerts")
    response = coach_client.post(f"/coach/alerts/{alert.id}/resolve", data={"csrf_token": token, "note": "  "})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="note-{alert.id}-error"' in html and "Write a short note" in html
    db.session.refresh(alert)
    assert alert.is_open
    no_csrf = coach_client.post(f"/coach/alerts/{alert.id}/resolve", data={"note": "x"})
    assert no_csrf.status_code == 400


def test_resolve_someone_elses_alert_is_404(db, coach_client, make_user):
    other_coach = make_user(Role.COACH)
    stranger = make_user(Role.PATIENT, coach=other_coach)
    alert, _ = open_alert(stranger, AlertKind.RED_FLAG, "x")
    db.session.commit()
    token = csrf_token(coach_client, "/coach/alerts")
    assert (
        coach_client.post(f"/coach/alerts/{alert.id}/resolve", data={"csrf_token": token, "note": "x"}).status_code
        == 404
    )
    assert coach_client.post("/coach/alerts/999999/resolve", data={"csrf_token": token, "note": "x"}).status_code == 404
    db.session.refresh(alert)
    assert alert.is_open


def test_bad_show_parameter_is_400(coach_client):
    assert coach_client.get("/coach/alerts?show=everything").status_code == 400


def test_inbox_query_count_does_not_grow(db, coach, coach_client, make_user, queries):
    def fill(n):
        for _ in range(n):
            p = make_user(Role.PATIENT, coach=coach)
            open_alert(p, AlertKind.RED_FLAG, "x")
            open_alert(p, AlertKind.MISSED_CHECKINS, "y")
        db.session.commit()

    fill(2)
    with queries() as small:
        assert coach_client.get("/coach/alerts").status_code == 200
    fill(8)
    with queries() as large:
        html = coach_client.get("/coach/alerts").get_data(as_text=True)
    assert html.count("Resolve alert") == 20
    assert len(large) == len(small)
