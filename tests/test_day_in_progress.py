"""A day in progress is not held against the patient.

A day counts every occurrence its schedule asks for once it is over in the patient's time
zone; until then an occurrence counts as due only once it is done. These tests put the
clock one minute either side of local midnight in two time zones (Chicago and Auckland,
whose days turn 17 or 18 hours apart) and check that every adherence figure (per item, per
week, per patient, the roster's, the coach's summary, the progress page and the SQL form the
outcomes report counts with) follows the same rule: adding items today or not having done
today's yet leaves the figure where it was, and a session done today raises it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from portal.auth.models import Role
from portal.care import plans as plan_service
from portal.care.adherence_sql import adherence_totals
from portal.care.models import ItemLog
from portal.care.progress import adherence_and_pauses, item_adherence, progress_for, weekly_adherence
from portal.care.today import log_session
from portal.coaching.review import patient_summary, review_for
from portal.extensions import db
from portal.timeutil import local_today
from tests.plan_factories import make_item, make_plan, schedule_from_start

CHICAGO, AUCKLAND = "America/Chicago", "Pacific/Auckland"
# A Wednesday. Chicago is at UTC-5 (CDT) and Auckland at UTC+13 (NZDT) then.
DAY = date(2026, 3, 18)


def midnight_after(day: date, zone: str) -> datetime:
    """The instant ``day`` ends in ``zone``, in UTC."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), ZoneInfo(zone)).astimezone(UTC)


def week_of(day: date) -> tuple[date, date]:
    return day - timedelta(days=6), day


def log(patient, item, day: date, sessions: int = 1) -> None:
    db.session.add(ItemLog(plan_item_id=item.id, patient_id=patient.id, day=day, sessions_done=sessions))
    db.session.commit()


@pytest.fixture
def chicago_and_auckland(make_user, coach):
    """Two patients of one coach with one daily item each since 30 days before DAY, done on the
    three days before DAY (so 3 of the 6 earlier days of DAY's week)."""
    with time_machine.travel(midnight_after(DAY, CHICAGO) - timedelta(hours=12), tick=False):
        patients = []
        for zone in (CHICAGO, AUCKLAND):
            patient = make_user(Role.PATIENT, coach=coach, timezone=zone)
            plan = make_plan(patient, coach, [make_item()], start_date=DAY - timedelta(days=30))
            item = plan.items[0]
            item.times_per_day = 1
            schedule_from_start(plan)
            for back in (1, 2, 3):
                log(patient, item, DAY - timedelta(days=back))
            patients.append((patient, plan))
    return patients


def figures(patient, day: date) -> dict[str, tuple[int, int]]:
    """(due, done) of DAY's 7-day week from every surface that shows adherence."""
    week = week_of(day)
    rows = item_adherence(patient.id, *week)
    due, done, _paused = adherence_and_pauses([patient.id], *week)[patient.id]
    this_week = weekly_adherence(patient.id, day, weeks=1)[0]
    return {
        "items": (sum(row.due for row in rows), sum(row.done for row in rows)),
        "patient": (due, done),
        "roster": (lambda r: (r.adherence_due, r.adherence_done))(review_for([patient.id], day)[patient.id]),
        "outcomes (SQL form)": adherence_totals([patient.id], *week)[patient.id][:2],
        "this week": (this_week["due"], this_week["done"]),
    }


def same_everywhere(patient, day: date) -> tuple[int, int]:
    found = figures(patient, day)
    week = {name: value for name, value in found.items() if name != "this week"}
    assert len(set(week.values())) == 1, found
    return next(iter(week.values()))


@pytest.mark.parametrize("zone_index", [0, 1], ids=["Chicago", "Auckland"])
def test_the_day_counts_in_full_only_once_it_is_over_in_the_patients_zone(chicago_and_auckland, zone_index):
    patient, _plan = chicago_and_auckland[zone_index]
    ends = midnight_after(DAY, patient.timezone)
    with time_machine.travel(ends - timedelta(minutes=1), tick=False):
        assert local_today(patient.timezone) == DAY
        # DAY is in progress and nothing is done on it: the six days before count, 3 of 6.
        assert same_everywhere(patient, DAY) == (6, 3)
    with time_machine.travel(ends + timedelta(minutes=1), tick=False):
        assert local_today(patient.timezone) == DAY + timedelta(days=1)
        # DAY is over: its session counts as due, 3 of 7.
        assert same_everywhere(patient, DAY) == (7, 3)


def test_a_session_done_today_raises_the_figure(chicago_and_auckland):
    patient, plan = chicago_and_auckland[1]
    with time_machine.travel(midnight_after(DAY, AUCKLAND) - timedelta(minutes=1), tick=False):
        log_session(patient, plan.items[0])
        db.session.commit()
        assert same_everywhere(patient, DAY) == (7, 4)
        # DAY is a Wednesday: the chart's week so far is Monday to DAY, every session done.
        assert figures(patient, DAY)["this week"] == (3, 3)


def test_items_added_today_leave_the_figure_unchanged(chicago_and_auckland, coach):
    patient, plan = chicago_and_auckland[0]
    with time_machine.travel(midnight_after(DAY, CHICAGO) - timedelta(hours=3), tick=False):
        before = same_everywhere(patient, DAY)
        summary = patient_summary(patient).review.adherence_percent
        page = progress_for(patient.id, DAY)
        added, _ = plan_service.add_items(plan, [make_item(title="Bird dog"), make_item(title="Chin tuck")], coach)
        db.session.commit()
        assert same_everywhere(patient, DAY) == before == (6, 3)
        assert patient_summary(patient).review.adherence_percent == summary == 50
        after = progress_for(patient.id, DAY)
        assert after.weekly_adherence == page.weekly_adherence
        # The new items are listed, with nothing held against them yet.
        assert {(row.item.id, row.due, row.done) for row in after.items if row.item.id in {i.id for i in added}} == {
            (added[0].id, 0, 0),
            (added[1].id, 0, 0),
        }
        # Doing one of them today counts it, done and due.
        log_session(patient, added[0])
        db.session.commit()
        assert same_everywhere(patient, DAY) == (7, 4)


def test_the_roster_counts_each_patient_by_their_own_day(chicago_and_auckland):
    """At 23:59 in Chicago on DAY it is already the evening after in Auckland: in the coach's
    week (ending DAY), DAY is over for the Auckland patient and in progress for the Chicago one."""
    (chicago, _), (auckland, _) = chicago_and_auckland
    with time_machine.travel(midnight_after(DAY, CHICAGO) - timedelta(minutes=1), tick=False):
        roster = review_for([chicago.id, auckland.id], DAY)
        assert (roster[chicago.id].adherence_due, roster[chicago.id].adherence_done) == (6, 3)
        assert (roster[auckland.id].adherence_due, roster[auckland.id].adherence_done) == (7, 3)
    # On DAY's evening in Auckland, Chicago's DAY has not begun yet: a coach's week ending on a
    # day that has not begun for the patient counts only what was done on it (nothing yet).
    with time_machine.travel(midnight_after(DAY - timedelta(days=1), CHICAGO) - timedelta(minutes=1), tick=False):
        assert local_today(AUCKLAND) == DAY
        roster = review_for([chicago.id, auckland.id], DAY)
        assert (roster[auckland.id].adherence_due, roster[auckland.id].adherence_done) == (6, 3)
        # Chicago: five days over, DAY - 1 in progress with its session done, DAY not begun.
        assert (roster[chicago.id].adherence_due, roster[chicago.id].adherence_done) == (5 + 1, 3)


@pytest.mark.parametrize("own_zone", [None, ""], ids=["none", "empty"])
def test_a_patient_without_a_zone_of_their_own_follows_their_clinics(make_user, coach, make_clinic, own_zone):
    clinic = make_clinic(name="Holistiq Auckland", city="Auckland", timezone=AUCKLAND)
    ends = midnight_after(DAY, AUCKLAND)
    with time_machine.travel(ends - timedelta(hours=2), tick=False):
        # An empty zone (a cleared field) names no zone either.
        patient = make_user(Role.PATIENT, coach=coach, timezone=own_zone, clinic_id=clinic.id)
        make_plan(patient, coach, [make_item()], start_date=DAY - timedelta(days=30))  # twice a day
    assert patient.timezone == own_zone
    with time_machine.travel(ends - timedelta(minutes=1), tick=False):
        assert adherence_and_pauses([patient.id], *week_of(DAY))[patient.id] == (2 * 6, 0, 0)
        assert adherence_totals([patient.id], *week_of(DAY))[patient.id] == (2 * 6, 0, 0)
    with time_machine.travel(ends + timedelta(minutes=1), tick=False):
        assert adherence_and_pauses([patient.id], *week_of(DAY))[patient.id] == (2 * 7, 0, 0)
        assert adherence_totals([patient.id], *week_of(DAY))[patient.id] == (2 * 7, 0, 0)


def test_the_progress_page_says_how_today_counts_in_english_and_spanish(patient, coach, patient_client):
    plan = make_plan(patient, coach, [make_item()], start_date=local_today(patient.tz) - timedelta(days=10))
    log(patient, plan.items[0], local_today(patient.tz) - timedelta(days=1))  # something to draw
    page = patient_client.get("/me/progress").get_data(as_text=True)
    assert "A day counts in full once it is over; today counts only what is already done." in page
    patient.language = "es"
    db.session.commit()
    page = patient_client.get("/me/progress").get_data(as_text=True)
    assert "Un día cuenta completo cuando termina; hoy cuenta solo lo que ya se hizo." in page
