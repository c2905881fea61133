"""What an alert says, whom it concerns and in which order the coach sees it, exactly.

Two patients in every query; the coach's language for every text written into an
alert; a frozen clock (tests/clock.py) so the words and dates do not depend on the
day the suite runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask_login import AnonymousUserMixin

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care.alerts import (
    AlertError,
    RedFlagState,
    alert_history_query,
    exercises_paused,
    open_alert,
    open_alert_count,
    open_alerts_query,
    red_flag_status,
    resolve_alert,
    resolved_alerts_query,
    resume_exercises,
    scan_missed_checkins,
    worsening,
)
from portal.care.checkins import (
    CheckInClosed,
    outcome_for_week,
    patient_today,
    save_checkin,
    save_weekly_outcome,
    week_start_for,
)
from portal.care.models import Alert, AlertKind, CheckIn, WeeklyOutcome
from portal.care.red_flags import RED_FLAG_FIELDS, Tier
from tests.clock import care_clock  # noqa: F401  (the fixture, used below)
from tests.test_checkins import make_plan

pytestmark = pytest.mark.usefixtures("care_clock")

CALM = {"pain": 2, "stiffness": 2}


def add_checkins(db, patient, pains_by_offset: dict[int, int]) -> None:
    today = patient_today(patient)
    for offset, pain in pains_by_offset.items():
        db.session.add(CheckIn(patient_id=patient.id, day=today - timedelta(days=offset), pain=pain, stiffness=1))
    db.session.commit()


def month_day(day) -> str:
    return f"{day:%b} {day.day}"


# --- the words of each alert ---------------------------------------------------------


def test_red_flag_alert_names_every_answer_and_the_day(db, patient):
    today = patient_today(patient)
    result = save_checkin(patient, today, CALM | {"rf_walking": True, "rf_fall_injury": True})
    db.session.commit()
    [alert] = result.alerts
    assert alert.summary == (
        f"Reported: trouble walking or standing; a recent fall or injury (check-in of {month_day(today)})."
    )
    assert alert.checkin_id == result.checkin.id
    assert alert.note == "" and alert.resolved_at is None


def test_worsening_alert_gives_both_averages_and_points_at_the_checkin(db, patient):
    today = patient_today(patient)
    add_checkins(db, patient, {1: 7, 2: 6} | {o: 4 for o in range(3, 10)})
    result = save_checkin(patient, today, {"pain": 6, "stiffness": 5})
    db.session.commit()
    [alert] = result.alerts
    assert alert.kind == AlertKind.PAIN_WORSENING
    assert alert.summary == "Pain averaged 6.3 over the last 3 days, up from 4.0 the week before."
    assert alert.checkin_id == result.checkin.id


def test_pain_jump_alert_gives_the_pain_and_the_average_and_points_at_the_checkin(db, patient):
    today = patient_today(patient)
    add_checkins(db, patient, {1: 2, 3: 3, 7: 3})
    result = save_checkin(patient, today, {"pain": 6, "stiffness": 5})
    db.session.commit()
    [alert] = result.alerts
    assert alert.kind == AlertKind.PAIN_WORSENING
    assert alert.summary == "pain 6, up from an average of 2.7"
    assert alert.checkin_id == result.checkin.id


def test_pain_jump_looks_only_at_the_patients_own_previous_week(db, two_patients):
    jumping, steady = two_patients
    today = patient_today(jumping)
    add_checkins(db, jumping, {1: 2, 2: 2, 3: 2})
    add_checkins(db, steady, {1: 6, 2: 6, 3: 6, 8: 1})
    assert [a.kind for a in save_checkin(jumping, today, {"pain": 5, "stiffness": 5}).alerts] == [
        AlertKind.PAIN_WORSENING
    ]
    # Pain 6 after a week of 6s is no jump, whatever the other patient's week looked like.
    assert save_checkin(steady, today, {"pain": 6, "stiffness": 5}).alerts == []


@pytest.mark.parametrize(
    ("earlier", "pain", "alerts"),
    [
        ({1: 2, 2: 2, 3: 2}, 5, 1),  # exactly 3 above the average
        ({1: 2, 2: 2, 3: 3}, 5, 0),  # 2.67 above
        ({1: 2, 2: 2}, 9, 0),  # only two earlier check-ins
        ({1: 2, 2: 2, 3: 2, 4: 2}, 5, 1),  # four earlier check-ins are enough too
        ({1: 1, 2: 1, 7: 1}, 4, 1),  # the 7th day back still counts
        ({1: 1, 2: 1, 8: 1}, 4, 0),  # the 8th does not: two left
        ({1: 0, 2: 0, 3: 0}, 3, 1),  # from no pain at all
        ({1: 4, 2: 4, 3: 4}, 6, 0),  # a rise of 2 from a steady 4
    ],
)
def test_pain_jump_boundaries(db, patient, earlier, pain, alerts):
    add_checkins(db, patient, earlier)
    result = save_checkin(patient, patient_today(patient), {"pain": pain, "stiffness": 1})
    assert len(result.alerts) == alerts


def test_pain_jump_baseline_leaves_out_today_and_the_days_after(db, patient):
    today = patient_today(patient)
    add_checkins(db, patient, {1: 1, 2: 1, 3: 1})
    # A later check-in (from a patient in a zone already past midnight, say) must not join the baseline.
    db.session.add(CheckIn(patient_id=patient.id, day=today + timedelta(days=1), pain=9, stiffness=1))
    db.session.commit()
    [alert] = save_checkin(patient, today, {"pain": 4, "stiffness": 1}).alerts
    assert alert.summary == "pain 4, up from an average of 1.0"


def test_worsening_from_a_pain_free_week(db, patient):
    today = patient_today(patient)
    add_checkins(db, patient, {1: 2, 2: 2} | {o: 0 for o in range(3, 10)})
    assert worsening(patient.id, today) == (2.0, 0.0)
    assert worsening(patient.id, today - timedelta(days=30)) is None


def test_alert_texts_are_in_the_coachs_language(db, make_user):
    coach = make_user(Role.COACH, language="es")
    patient = make_user(Role.PATIENT, coach=coach, language="en")
    today = patient_today(patient)
    add_checkins(db, patient, {1: 7, 2: 7} | {o: 4 for o in range(3, 10)})
    [alert] = save_checkin(patient, today, {"pain": 7, "stiffness": 5}).alerts
    assert alert.summary == "El dolor promedio fue 7,0 en los últimos 3 días, más alto que 4,0 la semana anterior."


def test_pain_jump_text_is_in_the_coachs_language(db, make_user):
    coach = make_user(Role.COACH, language="es")
    patient = make_user(Role.PATIENT, coach=coach, language="en")
    add_checkins(db, patient, {1: 2, 2: 3, 3: 3})
    [alert] = save_checkin(patient, patient_today(patient), {"pain": 7, "stiffness": 5}).alerts
    assert alert.summary == "dolor 7, más alto que el promedio de 2,7"


def test_a_long_red_flag_summary_is_cut_to_the_column_both_when_opened_and_updated(db, make_user):
    # Every answer "yes", in Spanish: the summary runs past 300 characters.
    coach = make_user(Role.COACH, language="es")
    patient = make_user(Role.PATIENT, coach=coach)
    today = patient_today(patient)
    everything = CALM | dict.fromkeys(RED_FLAG_FIELDS, True)
    [alert] = save_checkin(patient, today, everything).alerts
    db.session.commit()
    assert len(alert.summary) == 300 and alert.summary.startswith("Reportó: ")
    save_checkin(patient, today, CALM | {"rf_walking": True})
    db.session.commit()
    save_checkin(patient, today, everything)
    db.session.commit()
    db.session.refresh(alert)
    assert len(alert.summary) == 300
    long, _created = open_alert(patient, AlertKind.MISSED_CHECKINS, "x" * 400, notify=False)
    assert len(long.summary) == 300


# --- opening, finding and resolving ---------------------------------------------------


def test_open_alert_returns_the_open_one_not_an_earlier_resolved_one(db, patient, coach):
    first, created = open_alert(patient, AlertKind.PAIN_WORSENING, "first")
    assert created
    db.session.commit()
    resolve_alert(first, coach, "done")
    db.session.commit()
    second, created = open_alert(patient, AlertKind.PAIN_WORSENING, "second")
    assert created and second.id != first.id and second.resolved_at is None
    again, created = open_alert(patient, AlertKind.PAIN_WORSENING, "third")
    assert not created and again.id == second.id and again.summary == "second"


def test_only_a_red_flag_pauses_and_a_plain_resolve_keeps_the_pause(db, patient, coach):
    missed, _ = open_alert(patient, AlertKind.MISSED_CHECKINS, "m", notify=False)
    assert missed.exercises_paused is False
    red, _ = open_alert(patient, AlertKind.RED_FLAG, "r", notify=False)
    assert red.exercises_paused is True
    db.session.commit()
    resolve_alert(red, coach, "Called her.")  # no resume asked for
    db.session.commit()
    assert exercises_paused(patient.id)


def test_the_red_flag_box_and_the_pause_are_each_patients_own(db, coach, two_patients):
    flagged, other = two_patients
    red, _ = open_alert(flagged, AlertKind.RED_FLAG, "r", notify=False)
    open_alert(other, AlertKind.PAIN_WORSENING, "p", notify=False)
    open_alert(other, AlertKind.MISSED_CHECKINS, "m", notify=False)
    db.session.commit()
    assert (red_flag_status(flagged.id), red_flag_status(other.id)) == (
        RedFlagState(Tier.TODAY, True),
        RedFlagState(None, False),
    )
    assert (exercises_paused(flagged.id), exercises_paused(other.id)) == (True, False)
    resolve_alert(red, coach, "Seen.")
    db.session.commit()
    # Resolved without a resume: the box goes, the pause stays until the coach resumes.
    assert red_flag_status(flagged.id) == RedFlagState(None, True)
    assert exercises_paused(flagged.id) is True
    resume_exercises(flagged, coach)
    db.session.commit()
    assert red_flag_status(flagged.id) == RedFlagState(None, False)


def test_exercises_resumed_while_the_red_flag_is_still_open_keep_the_box(db, coach, two_patients):
    flagged, other = two_patients
    open_alert(flagged, AlertKind.RED_FLAG, "r", notify=False)
    open_alert(other, AlertKind.RED_FLAG, "r", notify=False)
    db.session.commit()
    resume_exercises(flagged, coach)
    db.session.commit()
    assert (red_flag_status(flagged.id), red_flag_status(other.id)) == (
        RedFlagState(Tier.TODAY, False),
        RedFlagState(Tier.TODAY, True),
    )


def test_a_check_in_handed_over_from_another_day_is_not_overwritten(db, patient):
    """save_checkin reuses the caller's row only when it is the day's: yesterday's stays as it was."""
    today = patient_today(patient)
    yesterday = CheckIn(patient_id=patient.id, day=today - timedelta(days=1), pain=7, stiffness=6)
    db.session.add(yesterday)
    db.session.commit()
    result = save_checkin(patient, today, {"pain": 3, "stiffness": 2}, existing=yesterday)
    db.session.commit()
    db.session.expire_all()
    rows = db.session.execute(
        db.select(CheckIn.day, CheckIn.pain, CheckIn.stiffness)
        .where(CheckIn.patient_id == patient.id)
        .order_by(CheckIn.day)
    ).all()
    assert [tuple(row) for row in rows] == [(today - timedelta(days=1), 7, 6), (today, 3, 2)]
    assert result.checkin.day == today


def test_resuming_one_patient_leaves_anothers_pause_and_is_audited(db, coach, two_patients):
    first, second = two_patients
    alert, _ = open_alert(first, AlertKind.RED_FLAG, "r", notify=False)
    open_alert(second, AlertKind.RED_FLAG, "r", notify=False)
    db.session.commit()
    resolve_alert(alert, coach, "Called; fine to go on.", resume=True)
    db.session.commit()
    assert (exercises_paused(first.id), exercises_paused(second.id)) == (False, True)
    (event,) = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "exercises.resume")).all()
    assert (event.actor_id, event.patient_id, event.target_type, event.target_id) == (
        coach.id,
        first.id,
        "User",
        first.id,
    )
    assert resume_exercises(second, coach) is True
    db.session.commit()
    assert exercises_paused(second.id) is False


def test_the_red_flag_summary_dates_the_patients_local_day(db, coach, make_user):
    # 23:30 UTC on Friday 20 March: already Saturday for a patient in Tokyo.
    with time_machine.travel(datetime(2026, 3, 20, 23, 30, tzinfo=UTC), tick=False):
        tokyo = make_user(Role.PATIENT, coach=coach, timezone="Asia/Tokyo")
        [alert] = save_checkin(tokyo, patient_today(tokyo), CALM | {"rf_numbness": True}).alerts
        assert alert.summary == "Reported: new numbness or tingling in the legs (check-in of Mar 21)."


def test_resolving_twice_says_it_was_already_resolved(db, patient, coach):
    alert, _ = open_alert(patient, AlertKind.PAIN_WORSENING, "p")
    resolve_alert(alert, coach, "first")
    with pytest.raises(AlertError, match=r"^This alert was already resolved\.$"):
        resolve_alert(alert, coach, "second")


def test_the_resolve_audit_event_names_the_alert_kind(db, patient, coach):
    alert, _ = open_alert(patient, AlertKind.MISSED_CHECKINS, "m")
    resolve_alert(alert, coach, "Reminded by phone.")
    db.session.commit()
    (event,) = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "alert.resolve")).all()
    assert event.detail_dict == {"kind": "missed_checkins"}


def test_the_badge_is_zero_for_a_visitor(db, patient):
    open_alert(patient, AlertKind.RED_FLAG, "r", notify=False)
    db.session.commit()
    assert open_alert_count(AnonymousUserMixin()) == 0


def test_open_alerts_of_one_urgency_come_oldest_first(db, coach, two_patients):
    first, second = two_patients
    now = datetime.now(UTC)
    with time_machine.travel(now + timedelta(hours=2), tick=False):
        newer, _ = open_alert(first, AlertKind.PAIN_WORSENING, "newer", notify=False)
    with time_machine.travel(now, tick=False):
        older, _ = open_alert(second, AlertKind.PAIN_WORSENING, "older", notify=False)
    db.session.commit()
    assert [a.id for a in db.session.scalars(open_alerts_query(coach))] == [older.id, newer.id]


def test_resolved_alerts_come_latest_resolution_first(db, coach, two_patients):
    first, second = two_patients
    a1, _ = open_alert(first, AlertKind.PAIN_WORSENING, "one", notify=False)
    a2, _ = open_alert(second, AlertKind.PAIN_WORSENING, "two", notify=False)
    a3, _ = open_alert(first, AlertKind.MISSED_CHECKINS, "three", notify=False)
    a4, _ = open_alert(second, AlertKind.MISSED_CHECKINS, "four", notify=False)
    db.session.commit()
    now = datetime.now(UTC)
    # Resolved newest-id first, then two in the same instant.
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        resolve_alert(a2, coach, "two")
    with time_machine.travel(now + timedelta(hours=2), tick=False):
        resolve_alert(a1, coach, "one")
    with time_machine.travel(now + timedelta(hours=3), tick=False):
        resolve_alert(a3, coach, "three")
        resolve_alert(a4, coach, "four")
    db.session.commit()
    assert [a.id for a in db.session.scalars(resolved_alerts_query(coach))] == [a4.id, a3.id, a1.id, a2.id]


def test_alert_history_is_the_patients_own_newest_first(db, coach, two_patients):
    patient, other = two_patients
    now = datetime.now(UTC)
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        late, _ = open_alert(patient, AlertKind.MISSED_CHECKINS, "late", notify=False)
    with time_machine.travel(now, tick=False):
        early, _ = open_alert(patient, AlertKind.PAIN_WORSENING, "early", notify=False)
        tie_a, _ = open_alert(other, AlertKind.PAIN_WORSENING, "a", notify=False)
        tie_b, _ = open_alert(other, AlertKind.MISSED_CHECKINS, "b", notify=False)
    db.session.commit()
    assert [a.id for a in db.session.scalars(alert_history_query(patient.id))] == [late.id, early.id]
    assert [a.id for a in db.session.scalars(alert_history_query(other.id))] == [tie_b.id, tie_a.id]


# --- the missed check-in scan --------------------------------------------------------------


def test_the_scan_checks_each_patient_once_and_words_in_their_coachs_language(db, make_user):
    today = patient_today(make_user(Role.PATIENT))
    english = make_user(Role.COACH, language="en")
    spanish = make_user(Role.COACH, language="es")
    lapsed_es = make_user(Role.PATIENT, coach=spanish)
    lapsed_en = make_user(Role.PATIENT, coach=english)
    current = make_user(Role.PATIENT, coach=english)
    for person in (lapsed_es, lapsed_en, current):
        make_plan(db, person, english, n_items=1, start=today - timedelta(days=20))
    for person, offset in ((lapsed_es, 5), (lapsed_en, 6), (current, 1)):
        db.session.add(CheckIn(patient_id=person.id, day=today - timedelta(days=offset), pain=3, stiffness=3))
        db.session.add(CheckIn(patient_id=person.id, day=today - timedelta(days=offset + 1), pain=3, stiffness=3))
    db.session.commit()
    result = scan_missed_checkins()
    assert (result.checked, result.opened) == (3, 2)
    summaries = dict(db.session.execute(db.select(Alert.patient_id, Alert.summary)).all())
    last_en = today - timedelta(days=6)
    assert summaries[lapsed_en.id] == f"No check-in for 3 days or more (since {month_day(last_en)})."
    assert summaries[lapsed_es.id].startswith("Sin registro diario por 3 días o más (desde el ")
    assert set(summaries) == {lapsed_es.id, lapsed_en.id}


def test_the_scan_looks_at_patients_only(db, coach, make_user):
    # A staff account with a plan row (an account whose role was changed, say) is never alerted.
    staff = make_user(Role.COACH)
    make_plan(db, staff, coach, n_items=1)
    result = scan_missed_checkins()
    assert (result.checked, result.opened) == (0, 0)


# --- check-ins and the weekly check ------------------------------------------------------


def test_a_closed_day_says_so(db, patient):
    with pytest.raises(CheckInClosed, match=r"^Check-ins from earlier days can no longer be changed\.$"):
        save_checkin(patient, patient_today(patient) - timedelta(days=1), CALM)


def test_the_weekly_check_of_this_week_is_found_and_updated_not_last_weeks(db, patient):
    this_week = week_start_for(patient_today(patient))
    last_week = this_week - timedelta(weeks=1)
    db.session.add(
        WeeklyOutcome(
            patient_id=patient.id,
            week_start=last_week,
            pain_average=8,
            enjoyment_interference=8,
            activity_interference=8,
        )
    )
    db.session.commit()
    assert outcome_for_week(patient.id, this_week) is None
    outcome, created = save_weekly_outcome(
        patient, {"pain_average": 3, "enjoyment_interference": 2, "activity_interference": 1}
    )
    db.session.commit()
    assert created and outcome.week_start == this_week
    outcome, created = save_weekly_outcome(
        patient, {"pain_average": 4, "enjoyment_interference": 2, "activity_interference": 1}
    )
    db.session.commit()
    assert not created and outcome.week_start == this_week
    assert outcome_for_week(patient.id, this_week).pain_average == 4
    assert outcome_for_week(patient.id, last_week).pain_average == 8
