"""The "needs attention" ranking (portal.care.attention), one situation at a time: each tier at its
edges (48 hours, 2 points, 7 days, 3 days, every item paused), the ties, the trend arrow. Fast and
deterministic, so `make mutation` runs them; tests/test_attention_ranking.py checks random histories.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from portal.auth.models import Role, User
from portal.care.attention import Attention, Tier, attention_of, order_by_attention, pain_trend, red_flag_days
from portal.care.models import Alert, AlertKind, CheckIn, Plan, PlanItem, PlanItemPause, PlanStatus
from portal.care.plans import roster_query
from portal.timeutil import utcnow
from tests.clock import care_clock  # noqa: F401  (the fixture, used below)
from tests.plan_factories import make_item
from tests.test_attention_ranking import AlertFact, Facts, _store, reference_rank

pytestmark = pytest.mark.usefixtures("care_clock")


@pytest.mark.parametrize(
    ("recent", "before", "rise", "expected"),
    [
        (None, None, None, None),
        (5, None, None, None),
        (5, 4, None, "up"),
        (5, 4.1, None, "steady"),
        (3, 4, None, "down"),
        (3.1, 4, None, "steady"),
        (5, 5, 2, "up"),  # "Pain up 2 since Monday" never stands beside "steady"
        (3, 5, 3, "up"),
        (5, 5, 1, "steady"),
        (None, None, 2, "up"),
    ],
)
def test_the_trend_never_contradicts_a_named_rise(recent, before, rise, expected):
    assert pain_trend(recent, before, rise) == expected


def test_a_same_day_red_flag_stays_above_on_track_patients_once_resolved(db, make_user):
    coach = make_user(Role.COACH)
    steady = [make_user(coach=coach, name=f"Aaron Steady {n}") for n in range(3)]
    flagged = make_user(coach=coach, name="Zoe Flag")
    now = utcnow().replace(microsecond=0)
    today = now.date()
    for patient in [*steady, flagged]:
        db.session.add(CheckIn(patient_id=patient.id, day=today, pain=3, stiffness=3))
    db.session.execute(
        db.insert(Alert).values(
            patient_id=flagged.id,
            kind=str(AlertKind.RED_FLAG),
            severity=0,
            opened_at=now - timedelta(hours=2),
            resolved_at=now - timedelta(hours=1),
            open_key=None,
        )
    )
    db.session.commit()
    rows = db.session.execute(order_by_attention(roster_query(coach), today, now)).all()
    assert rows[0][0].id == flagged.id
    # Two days later the resolved red flag no longer ranks: back among the others, by name.
    later = now + timedelta(hours=49)
    rows = db.session.execute(order_by_attention(roster_query(coach), today, later)).all()
    assert [row[0].name for row in rows][-1] == "Zoe Flag"


def _on_track(**changes) -> Facts:
    """A month-old plan with one item, checked in today at pain 3: on track until ``changes``."""
    values = {"alerts": [], "checkins": {0: 3}, "plan_days_ago": 30, "items": [False]}
    values.update(changes)
    return Facts(**values)


RED, WORSE, MISSED = AlertKind.RED_FLAG, AlertKind.PAIN_WORSENING, AlertKind.MISSED_CHECKINS


@pytest.mark.parametrize(
    ("facts", "tier"),
    [
        (_on_track(), Tier.ON_TRACK),
        (_on_track(alerts=[AlertFact(RED, 3, None)]), Tier.RED_FLAG),
        (_on_track(alerts=[AlertFact(RED, 3, None), AlertFact(WORSE, 1, None)]), Tier.RED_FLAG),
        (_on_track(alerts=[AlertFact(WORSE, 3, None)]), Tier.OPEN_ALERT),
        (_on_track(alerts=[AlertFact(WORSE, 90, 80)]), Tier.ON_TRACK),  # resolved: not open
        (_on_track(alerts=[AlertFact(MISSED, 3, None)]), Tier.MISSED),  # its own tier, below pain
        (_on_track(alerts=[AlertFact(MISSED, 90, 80)]), Tier.ON_TRACK),  # resolved: checked in since
        (_on_track(alerts=[AlertFact(RED, 60, 47)]), Tier.RECENT_RED_FLAG),
        (_on_track(alerts=[AlertFact(RED, 60, 48)]), Tier.RECENT_RED_FLAG),  # 48 hours exactly: still recent
        (_on_track(alerts=[AlertFact(RED, 60, 49)]), Tier.ON_TRACK),
        (_on_track(alerts=[AlertFact(WORSE, 60, 1)]), Tier.ON_TRACK),  # only a red flag counts resolved
        (_on_track(checkins={0: 5, 3: 3}), Tier.PAIN_UP),  # up exactly 2
        (_on_track(checkins={0: 4, 3: 3}), Tier.ON_TRACK),  # up 1
        (_on_track(checkins={0: 5, 7: 3}), Tier.PAIN_UP),  # the week's first day is 7 days back
        (_on_track(checkins={0: 5, 8: 3}), Tier.ON_TRACK),  # 8 days back: outside the week
        (_on_track(checkins={0: 5, 6: 3, 2: 6}), Tier.PAIN_UP),  # against the earliest, not the highest
        # A patient a day ahead in their zone: the coach's today is not in the week before it, so no rise.
        (_on_track(checkins={-1: 6, 0: 3}), Tier.ON_TRACK),
        (_on_track(checkins={1: 6, 5: 3}), Tier.PAIN_UP),  # the latest need not be today
        (_on_track(checkins={3: 6}), Tier.MISSED),  # one check-in 3 days ago: missed, no rise
        (_on_track(checkins={2: 3}), Tier.ON_TRACK),
        (_on_track(checkins={}), Tier.MISSED),  # never, on a month-old plan
        (_on_track(checkins={}, plan_days_ago=3), Tier.MISSED),
        (_on_track(checkins={}, plan_days_ago=2), Tier.NEW_PLAN),
        (_on_track(checkins={}, plan_days_ago=-2), Tier.NEW_PLAN),  # starts later
        (_on_track(plan_days_ago=6), Tier.NEW_PLAN),
        (_on_track(plan_days_ago=7), Tier.ON_TRACK),
        (_on_track(items=[True, True]), Tier.NEW_PLAN),  # every item paused
        (_on_track(items=[True, False]), Tier.ON_TRACK),
        (_on_track(items=[]), Tier.ON_TRACK),
        (_on_track(checkins={}, plan_days_ago=None, items=[]), Tier.ON_TRACK),  # no plan: nothing to miss
        (_on_track(checkins={0: 9, 3: 2}, alerts=[AlertFact(RED, 60, 10)]), Tier.RECENT_RED_FLAG),
    ],
)
def test_each_tier_at_its_edges(db, make_user, facts, tier):
    coach = make_user(Role.COACH)
    patient = make_user(coach=coach)
    library = [make_item() for _ in range(3)]
    now = utcnow().replace(microsecond=0)
    _store(db, patient, coach, facts, now.date(), now, library)
    db.session.commit()
    assert reference_rank(facts, now.date(), now)[0] == tier  # the plain reading agrees with the table
    assert attention_of([patient.id], now.date(), now)[patient.id].tier == tier


def test_ties_go_to_the_most_recent_event_then_the_name(db, make_user):
    coach = make_user(Role.COACH)
    now = utcnow().replace(microsecond=0)
    today = now.date()
    library = [make_item() for _ in range(3)]
    cases = [
        ("Ann Old flag", _on_track(alerts=[AlertFact(RED, 30, None)])),
        ("Bob New flag", _on_track(alerts=[AlertFact(RED, 2, None)])),
        ("Cat Worse", _on_track(alerts=[AlertFact(WORSE, 1, None)])),
        ("Dan Quiet long", _on_track(checkins={9: 3})),
        ("Eve Quiet lately", _on_track(checkins={4: 3})),
        ("Fay New plan", _on_track(plan_days_ago=1)),
        ("Gus Newer plan", _on_track(plan_days_ago=0)),
        ("Hal Yesterday", _on_track(checkins={1: 3})),
        ("Ida Today", _on_track()),
        ("Ian Today", _on_track()),
        ("Joe No plan", _on_track(checkins={}, plan_days_ago=None, items=[])),
    ]
    for name, facts in cases:
        _store(db, make_user(coach=coach, name=name), coach, facts, today, now, library)
    db.session.commit()
    rows = db.session.execute(order_by_attention(roster_query(coach), today, now)).all()
    assert [row[0].name for row in rows] == [
        "Bob New flag",
        "Ann Old flag",
        "Cat Worse",
        "Eve Quiet lately",
        "Dan Quiet long",
        "Gus Newer plan",
        "Fay New plan",
        "Ian Today",
        "Ida Today",
        "Hal Yesterday",
        "Joe No plan",
    ]


def test_the_placing_carries_the_active_plans_start(db, make_user):
    coach = make_user(Role.COACH)
    library = [make_item() for _ in range(3)]
    now = utcnow().replace(microsecond=0)
    today = now.date()
    with_plan, without = make_user(coach=coach), make_user(coach=coach)
    _store(db, with_plan, coach, _on_track(plan_days_ago=2), today, now, library)
    _store(db, without, coach, _on_track(checkins={}, plan_days_ago=None, items=[]), today, now, library)
    db.session.commit()
    # The summary tells a new plan from a fully paused one by this start (Attention.new_plan).
    assert attention_of([with_plan.id, without.id], today, now) == {
        with_plan.id: Attention(Tier.NEW_PLAN, today - timedelta(days=2)),
        without.id: Attention(Tier.ON_TRACK, None),
    }


def test_a_plan_counts_as_new_for_its_first_seven_days_only():
    today = utcnow().date()
    assert Attention(Tier.NEW_PLAN, today).new_plan(today)
    assert Attention(Tier.NEW_PLAN, today - timedelta(days=6)).new_plan(today)
    assert Attention(Tier.NEW_PLAN, today + timedelta(days=3)).new_plan(today)  # starts later: still new
    assert not Attention(Tier.NEW_PLAN, today - timedelta(days=7)).new_plan(today)  # a week old: paused, not new
    assert not Attention(Tier.ON_TRACK, today - timedelta(days=30)).new_plan(today)
    assert not Attention(Tier.ON_TRACK, None).new_plan(today)  # no plan


def test_ranking_the_roster_keeps_its_rows_as_they_were(db, make_user):
    coach = make_user(Role.COACH)
    library = [make_item() for _ in range(3)]
    now = utcnow().replace(microsecond=0)
    patient = make_user(coach=coach)
    _store(db, patient, coach, _on_track(), now.date(), now, library)
    db.session.commit()
    # Callers unpack (patient, plan): the ranking adds no columns of its own.
    rows = db.session.execute(order_by_attention(roster_query(coach), now.date(), now)).all()
    assert [(row[0].id, row[1].title, len(row)) for row in rows] == [(patient.id, "Back care", 2)]


def test_patients_tied_on_everything_but_the_id_come_in_the_order_they_joined(db, make_user):
    coach = make_user(Role.COACH)
    library = [make_item() for _ in range(3)]
    now = utcnow().replace(microsecond=0)
    namesakes = [make_user(coach=coach, name="Sam Lee") for _ in range(6)]
    for patient in namesakes:
        _store(db, patient, coach, _on_track(), now.date(), now, library)
    db.session.commit()
    # The same tier, check-in day and name: a stable order, so a page boundary never repeats or skips one.
    rows = db.session.execute(order_by_attention(roster_query(coach), now.date(), now)).all()
    assert [row[0].id for row in rows] == sorted(patient.id for patient in namesakes)


def _red_flag_case(db, patient, kind, checkin_day, opened_at, resolved_at=None) -> None:
    checkin = CheckIn(patient_id=patient.id, day=checkin_day, pain=8, stiffness=3)
    db.session.add(checkin)
    db.session.flush()
    db.session.execute(
        db.insert(Alert).values(
            patient_id=patient.id,
            kind=str(kind),
            severity=0,
            checkin_id=checkin.id,
            opened_at=opened_at,
            resolved_at=resolved_at,
            open_key=1 if resolved_at is None else None,
        )
    )


def test_the_red_flag_day_is_the_latest_open_or_recently_resolved_red_flags_check_in(db, make_user):
    coach = make_user(Role.COACH)
    now = utcnow().replace(microsecond=0)
    today = now.date()
    flagged, long_ago, calm = (make_user(coach=coach) for _ in range(3))
    # Stored newest first, so the latest opened has the lower id: the day is the latest by opening time.
    _red_flag_case(db, flagged, RED, today - timedelta(days=3), now - timedelta(hours=70), now - timedelta(hours=48))
    _red_flag_case(db, flagged, RED, today - timedelta(days=5), now - timedelta(hours=100))
    _red_flag_case(db, flagged, WORSE, today - timedelta(days=1), now - timedelta(hours=1))  # not a red flag
    _red_flag_case(db, long_ago, RED, today - timedelta(days=4), now - timedelta(hours=80), now - timedelta(hours=49))
    db.session.commit()
    assert red_flag_days([flagged.id, long_ago.id, calm.id], now) == {flagged.id: today - timedelta(days=3)}
    assert red_flag_days([], now) == {}


def test_a_red_flag_without_a_check_in_is_dated_in_the_patients_zone_else_their_clinics(db, make_user, make_clinic):
    coach = make_user(Role.COACH)
    tokyo = make_clinic(timezone="Asia/Tokyo")
    in_auckland = make_user(coach=coach, timezone="Pacific/Auckland")  # their clinic is in Chicago
    tokyo_clinic = make_user(coach=coach, clinic_id=tokyo.id)
    checked_in = make_user(coach=coach)
    for patient, opened_at in (
        (in_auckland, datetime(2026, 3, 10, 12, 0)),  # 7:00 on the 10th in Chicago, 1:00 on the 11th in Auckland
        (tokyo_clinic, datetime(2026, 3, 10, 18, 0)),  # 13:00 on the 10th in Chicago, 3:00 on the 11th in Tokyo
    ):
        db.session.execute(
            db.insert(Alert).values(patient_id=patient.id, kind=str(RED), severity=0, opened_at=opened_at, open_key=1)
        )
    # With a check-in, its day, whenever the alert opened.
    _red_flag_case(db, checked_in, RED, date(2026, 3, 9), datetime(2026, 3, 10, 18, 0))
    db.session.commit()
    assert red_flag_days([in_auckland.id, tokyo_clinic.id, checked_in.id], utcnow()) == {
        in_auckland.id: date(2026, 3, 11),
        tokyo_clinic.id: date(2026, 3, 11),
        checked_in.id: date(2026, 3, 9),
    }


def _tiers(db, make_user, cases: dict[str, Facts]) -> tuple[dict[str, User], dict[str, Tier]]:
    """Each named patient of one coach stored with their facts; the patients and their tiers, by name."""
    coach = make_user(Role.COACH)
    library = [make_item() for _ in range(3)]
    now = utcnow().replace(microsecond=0)
    patients = {name: make_user(coach=coach, name=name) for name in cases}
    for name, facts in cases.items():
        _store(db, patients[name], coach, facts, now.date(), now, library)
    db.session.commit()
    placed = attention_of([patient.id for patient in patients.values()], now.date(), now)
    return patients, {name: placed[patient.id].tier for name, patient in patients.items()}


def test_the_weeks_first_pain_is_the_patients_own(db, make_user):
    _patients, tiers = _tiers(
        db,
        make_user,
        {
            "Rising": _on_track(checkins={0: 5, 3: 3}),
            # Another patient's earlier, higher pain of the week does not hide the rise.
            "Easing": _on_track(checkins={0: 3, 6: 9}),
        },
    )
    assert tiers == {"Rising": Tier.PAIN_UP, "Easing": Tier.ON_TRACK}


def test_an_ended_plan_is_no_new_plan(db, make_user):
    patients, _tiers_before = _tiers(db, make_user, {"Ended": _on_track(plan_days_ago=2)})
    plan = db.session.scalars(db.select(Plan).where(Plan.patient_id == patients["Ended"].id)).one()
    plan.status = PlanStatus.ENDED
    db.session.commit()
    now = utcnow().replace(microsecond=0)
    assert attention_of([patients["Ended"].id], now.date(), now)[patients["Ended"].id].tier == Tier.ON_TRACK


def test_every_item_paused_counts_only_the_patients_items_in_use(db, make_user):
    patients, _tiers_before = _tiers(
        db,
        make_user,
        {"No items": _on_track(items=[]), "All paused": _on_track(items=[True]), "Resumed": _on_track(items=[True])},
    )
    # The coach resumed the only item: its pause ended, so something is to do again.
    resumed = db.select(PlanItem.id).join(Plan).where(Plan.patient_id == patients["Resumed"].id)
    db.session.execute(
        db.update(PlanItemPause)
        .where(PlanItemPause.plan_item_id.in_(resumed.scalar_subquery()))
        .values(open_key=None, ended_on=utcnow().date())
    )
    # A removed item of the fully paused plan, never paused: not in use, so still every item is paused.
    plan = db.session.scalars(db.select(Plan).where(Plan.patient_id == patients["All paused"].id)).one()
    db.session.add(PlanItem(plan_id=plan.id, library_item_id=make_item().id, position=1, is_active=False))
    db.session.commit()
    now = utcnow().replace(microsecond=0)
    placed = attention_of([patient.id for patient in patients.values()], now.date(), now)
    assert {name: placed[patient.id].tier for name, patient in patients.items()} == {
        "No items": Tier.ON_TRACK,  # another patient's paused item is not theirs
        "All paused": Tier.NEW_PLAN,
        "Resumed": Tier.ON_TRACK,
    }


def test_within_a_tier_the_most_recent_check_in_or_plan_start_comes_first(db, make_user):
    coach = make_user(Role.COACH)
    now = utcnow().replace(microsecond=0)
    library = [make_item() for _ in range(3)]
    cases = [
        # Pain up: by the latest check-in, on a new plan too (not by the plan's start).
        ("Amy New plan", _on_track(checkins={5: 3, 1: 6}, plan_days_ago=2)),
        ("Bob Old plan", _on_track(checkins={6: 2, 1: 5})),
        ("Cal Earlier", _on_track(checkins={6: 2, 2: 5})),
        # Missed: by the latest check-in, or the plan's start for one who never checked in.
        ("Dee Never", _on_track(checkins={}, plan_days_ago=4)),
        ("Eli Long ago", _on_track(checkins={8: 3})),
    ]
    for name, facts in cases:
        _store(db, make_user(coach=coach, name=name), coach, facts, now.date(), now, library)
    db.session.commit()
    rows = db.session.execute(order_by_attention(roster_query(coach), now.date(), now)).all()
    assert [row[0].name for row in rows] == ["Amy New plan", "Bob Old plan", "Cal Earlier", "Dee Never", "Eli Long ago"]
