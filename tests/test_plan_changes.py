"""What changed in your plan: each coach change told to the patient in words on Today, until
dismissed or for a week; only their own, only of their current plan, in their language."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.care import plan_changes, plans
from portal.care.dosing import Dose
from portal.care.models import PlanChange, PlanChangeKind
from portal.care.pauses import pause_item, resume_item
from portal.care.plan_changes import describe_change, dismiss_changes, recent_changes
from portal.care.today import todays_plan
from portal.extensions import db
from portal.timeutil import utcnow
from tests.conftest import csrf_token
from tests.plan_factories import make_item, make_plan

HEADING = "What changed in your plan"


def _box(html: str) -> str:
    if 'id="plan-changes"' not in html:
        return ""
    start = html.index('id="plan-changes"')
    return html[start : html.index("</section>", start)]


def _lines(html: str) -> list[str]:
    items = re.findall(r"<li[^>]*>(.*?)</li>", _box(html), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", line).split()) for line in items]


@pytest.fixture
def plan(patient, coach):
    plan = make_plan(patient, coach, [make_item(title="Glute bridge")])
    item = plan.items[0]
    item.sets, item.reps, item.hold_seconds, item.times_per_day, item.weekdays = 1, 8, None, 1, "0123456"
    db.session.commit()
    return plan


def _change(kind, before=None, after=None, note="") -> PlanChange:
    return PlanChange(kind=str(kind), before=before, after=after, note=note)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            _change(
                PlanChangeKind.ADD,
                after={"sets": 1, "reps": 8, "hold_seconds": None, "times_per_day": 1, "weekdays": "01234"},
            ),
            "New: Bird dog, 1 set of 8 reps, weekdays",
        ),
        (
            _change(
                PlanChangeKind.ADD,
                after={"sets": None, "reps": None, "hold_seconds": 30, "times_per_day": 3, "weekdays": "024"},
            ),
            "New: Bird dog, hold 30 s, 3 times a day, Mon, Wed, Fri",
        ),
        (_change(PlanChangeKind.DOSE, before={"sets": 1}, after={"sets": 2}), "Now 2 sets instead of 1: Bird dog"),
        (
            _change(
                PlanChangeKind.DOSE, before={"reps": 8, "times_per_day": 1}, after={"reps": 12, "times_per_day": 2}
            ),
            "Now 12 reps instead of 8, twice a day instead of once a day: Bird dog",
        ),
        (
            _change(
                PlanChangeKind.DOSE,
                before={"weekdays": "0123456", "hold_seconds": None},
                after={"weekdays": "56", "hold_seconds": 120},
            ),
            "Now hold 2 min instead of no hold, weekends instead of every day: Bird dog",
        ),
        (_change(PlanChangeKind.DOSE, before={}, after={}, note="Slowly."), "New note from your coach: Bird dog"),
        (
            _change(PlanChangeKind.DOSE, before={"sets": 3, "reps": 10}, after={"sets": 1, "reps": 1}),
            "Now 1 set instead of 3, 1 rep instead of 10: Bird dog",
        ),
        (
            # Values the item never had read as none: no sets, no reps, once a day, every day.
            _change(
                PlanChangeKind.DOSE,
                before={"sets": None, "reps": None, "hold_seconds": 30, "times_per_day": None, "weekdays": None},
                after={"sets": 2, "reps": 5, "hold_seconds": None, "times_per_day": 3, "weekdays": "15"},
            ),
            "Now 2 sets instead of 0, 5 reps instead of 0, no hold instead of hold 30 s,"
            " 3 times a day instead of once a day, Tue, Sat instead of every day: Bird dog",
        ),
        (
            _change(
                PlanChangeKind.DOSE,
                before={"sets": 2, "reps": 6, "hold_seconds": 10, "times_per_day": 2, "weekdays": "01234"},
                after={"sets": None, "reps": None, "hold_seconds": 45, "times_per_day": None, "weekdays": None},
            ),
            "Now 0 sets instead of 2, 0 reps instead of 6, hold 45 s instead of hold 10 s,"
            " once a day instead of twice a day, every day instead of weekdays: Bird dog",
        ),
        (
            _change(
                PlanChangeKind.ADD,
                after={"sets": 2, "reps": None, "hold_seconds": None, "times_per_day": 2, "weekdays": "56"},
            ),
            "New: Bird dog, 2 sets, twice a day, weekends",
        ),
        (
            # Nothing to count and no days: the item alone, due every day.
            _change(
                PlanChangeKind.ADD,
                after={"sets": None, "reps": None, "hold_seconds": None, "times_per_day": None, "weekdays": None},
            ),
            "New: Bird dog, every day",
        ),
        (_change(PlanChangeKind.ADD, after=None), "New: Bird dog, every day"),
        (_change(PlanChangeKind.DOSE, before=None, after=None), "New note from your coach: Bird dog"),
        (_change(PlanChangeKind.REMOVE), "Removed: Bird dog"),
        (_change(PlanChangeKind.PAUSE, note="Rest the knee"), "Paused: Bird dog"),
        (_change(PlanChangeKind.RESUME), "Back on your plan: Bird dog"),
    ],
)
def test_each_change_in_words(app, change, words):
    with app.test_request_context():
        assert describe_change(change, "Bird dog") == words


def test_every_kind_of_coach_change_is_kept_for_the_patient(db, patient, coach, plan):
    item = plan.items[0]
    plans.update_item(plan, item, Dose(2, 8, None, 1, "0123456", "Squeeze at the top."), coach)
    plans.update_item(plan, item, Dose(2, 8, None, 1, "0123456", "Squeeze at the top."), coach)  # no change
    [added], _skipped = plans.add_items(plan, [make_item(title="Bird dog", default_days_per_week=5)], coach)
    pause_item(plan, added, "Rest the knee", coach)
    db.session.commit()
    db.session.expire(added)  # its open pause, as the next request reads it
    resume_item(plan, added, coach)
    plans.remove_item(plan, item, coach)
    db.session.commit()
    changes = recent_changes(plan, patient.id)
    assert [(c.kind, c.plan_item.id) for c in changes] == [
        ("dose", item.id),
        ("add", added.id),
        ("pause", added.id),
        ("resume", added.id),
        ("remove", item.id),
    ]
    redosed, new, paused = changes[0], changes[1], changes[2]
    assert (redosed.before, redosed.after, redosed.note) == ({"sets": 1}, {"sets": 2}, "Squeeze at the top.")
    assert new.after["weekdays"] == "01234" and paused.note == "Rest the knee"


def _stored(patient_id) -> list[tuple]:
    rows = db.session.scalars(db.select(PlanChange).where(PlanChange.patient_id == patient_id).order_by(PlanChange.id))
    return [(c.plan_item_id, c.kind, c.before, c.after, c.note, c.dismissed_at) for c in rows]


def test_what_each_change_keeps_for_the_patient(db, patient, coach, plan):
    """The stored row is what Today words later: the new item's whole dose and note, a dose change's
    old and new values of the changed fields only, the coach's note only when it changed."""
    item = plan.items[0]
    item.coach_note = "Knees apart."
    db.session.commit()
    plans.update_item(plan, item, Dose(3, 8, None, 2, "0123456", "Knees apart."), coach)
    plans.update_item(plan, item, Dose(3, 8, 5, 2, "0123456", "Squeeze at the top."), coach)
    [added], _skipped = plans.add_items(
        plan, [make_item(title="Bird dog", default_sets=1, default_reps=6, default_days_per_week=3)], coach
    )
    added.coach_note = "Slowly."
    plan_changes.item_added(added, patient.id)
    plans.remove_item(plan, item, coach)
    db.session.commit()
    full_dose = {"sets": 1, "reps": 6, "hold_seconds": None, "times_per_day": 1, "weekdays": "024"}
    assert _stored(patient.id) == [
        # The note did not change: the change tells none (the patient has read it before).
        (item.id, "dose", {"sets": 1, "times_per_day": 1}, {"sets": 3, "times_per_day": 2}, "", None),
        (item.id, "dose", {"hold_seconds": None}, {"hold_seconds": 5}, "Squeeze at the top.", None),
        (added.id, "add", None, full_dose, "", None),
        (added.id, "add", None, full_dose, "Slowly.", None),
        (item.id, "remove", None, None, "", None),
    ]


def test_a_cleared_note_alone_tells_nothing(db, patient, coach, plan):
    item = plan.items[0]
    item.coach_note = "Old note"
    db.session.commit()
    plans.update_item(plan, item, Dose(1, 8, None, 1, "0123456", ""), coach)
    db.session.commit()
    assert recent_changes(plan, patient.id) == []


def test_changes_show_for_a_week_until_dismissed_and_only_for_the_current_plan(db, patient, coach, plan, make_user):
    item = plan.items[0]
    now = utcnow()
    old = plan_changes.item_removed(item, patient.id)
    old.created_at = now - timedelta(days=7, minutes=1)
    fresh = plan_changes.item_resumed(item, patient.id)
    fresh.created_at = now - timedelta(days=6, hours=23)
    other = make_user(coach=coach)
    theirs = make_plan(other, coach, [make_item()])
    plan_changes.item_removed(theirs.items[0], other.id)
    db.session.commit()
    assert [c.kind for c in recent_changes(plan, patient.id, now)] == ["resume"]
    fresh.created_at = now - timedelta(days=7)  # a week old to the microsecond: still told
    assert [c.kind for c in recent_changes(plan, patient.id, now)] == ["resume"]
    assert dismiss_changes(patient.id, now) == 2  # every change of the patient, the old one too
    db.session.commit()
    assert [row[5] for row in _stored(patient.id)] == [now, now]  # dismissed when the patient closed the box
    assert dismiss_changes(patient.id, now + timedelta(hours=1)) == 0  # nothing left to dismiss
    assert recent_changes(plan, patient.id, now) == []
    assert recent_changes(plan, other.id, now) == []  # never another patient's changes
    assert len(recent_changes(theirs, other.id, now)) == 1  # and their box stays
    plan_changes.item_paused(item, patient.id, "Sore")
    db.session.commit()
    assert [c.note for c in recent_changes(plan, patient.id)] == ["Sore"]  # a new change opens the box again
    new_plan = make_plan(patient, coach, [make_item()], status="ended")
    assert recent_changes(new_plan, patient.id) == []  # another plan's changes are not told with it


def test_a_patient_without_a_plan_is_told_no_changes(db, patient, coach, plan, patient_client):
    """Once the plan ended, the changes of its items are not told (there is no plan to change)."""
    plans.remove_item(plan, plan.items[0], coach)
    plans.end_plan(plan, coach)
    db.session.commit()
    assert recent_changes(None, patient.id) == []
    response = patient_client.get("/me/")
    assert response.status_code == 200 and HEADING not in response.get_data(as_text=True)


def _stored_newest_first(patient, plan):
    """A removal an hour ago stored before a pause two days ago (ids in the other order)."""
    item = plan.items[0]
    now = utcnow()
    later = plan_changes.item_removed(item, patient.id)
    later.created_at = now - timedelta(hours=1)
    earlier = plan_changes.item_paused(item, patient.id, "Sore")
    earlier.created_at = now - timedelta(days=2)
    db.session.commit()
    assert later.id < earlier.id
    return now


def test_changes_are_told_oldest_first(db, patient, coach, plan):
    """In the order the coach made them, whatever order they were stored in."""
    now = _stored_newest_first(patient, plan)
    assert [c.kind for c in recent_changes(plan, patient.id, now)] == ["pause", "remove"]


def test_today_tells_the_changes_oldest_first(db, patient, coach, plan):
    """Today reads the changes with the red-flag state (its own statement), in the same order."""
    _stored_newest_first(patient, plan)
    assert [(c.kind, c.note) for c in todays_plan(patient).plan_changes] == [("pause", "Sore"), ("remove", "")]


def test_today_shows_the_box_after_a_dose_change_and_dismiss_closes_it(
    db, patient, coach, plan, coach_client, patient_client
):
    assert HEADING not in patient_client.get("/me/").get_data(as_text=True)
    item = plan.items[0]
    edit_url = f"/coach/patients/{patient.id}/plans/{plan.id}/items/{item.id}"
    token = csrf_token(coach_client, edit_url)
    data = {
        "csrf_token": token,
        "version": str(plan.version),
        "sets": "2",
        "reps": "8",
        "hold_seconds": "",
        "times_per_day": "1",
        "weekdays": ["0", "1", "2", "3", "4", "5", "6"],
        "note": "Squeeze at the top.",
    }
    assert coach_client.post(edit_url, data=data).status_code == 302
    html = patient_client.get("/me/").get_data(as_text=True)
    assert f'<h2 id="plan-changes-heading" class="h5">{HEADING}</h2>' in html
    assert _lines(html) == ["Now 2 sets instead of 1: Glute bridge From your coach: Squeeze at the top."]
    dismiss = patient_client.post(
        "/me/today/plan-changes/dismiss", data={"csrf_token": csrf_token(patient_client, "/me/")}
    )
    assert dismiss.status_code == 302 and dismiss.headers["Location"].endswith("/me/")
    assert HEADING not in patient_client.get("/me/").get_data(as_text=True)
    assert patient_client.post("/me/today/plan-changes/dismiss", data={}).status_code == 400  # no CSRF token


def test_the_box_speaks_the_patients_language(db, patient, coach, plan, patient_client):
    patient.language = "es"
    plan.items[0].sets = 2
    plan_changes.item_redosed(plan.items[0], patient.id, {"sets": 1}, ["sets"])
    db.session.commit()
    html = patient_client.get("/me/").get_data(as_text=True)
    assert "Qué cambió en su plan" in html
    assert _lines(html) == ["Ahora 2 series en vez de 1: Glute bridge"]


def test_today_statements_do_not_grow_with_changes(db, patient, coach, plan, patient_client, queries):
    item = plan.items[0]
    patient_client.get("/me/")
    with queries() as none:
        patient_client.get("/me/")
    plan_changes.item_removed(item, patient.id)
    db.session.commit()
    patient_client.get("/me/")
    with queries() as few:
        patient_client.get("/me/")
    for _ in range(8):
        plan_changes.item_redosed(item, patient.id, {"sets": 1}, ["sets"])
        plan_changes.item_added(plans.add_items(plan, [make_item()], coach)[0][0], patient.id)
    db.session.commit()
    with queries() as many:
        html = patient_client.get("/me/").get_data(as_text=True)
    assert len(_lines(html)) == 1 + 8 * 3  # every add is told twice here (by add_items and by hand)
    assert len(many) == len(few) == len(none)  # read with the red-flag state: no statement of their own
