"""Which coach looks after a patient (portal.care.assignment): previews and moves, exactly."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from portal.audit import AuditEvent
from portal.auth.accounts import AccountError
from portal.auth.models import Role
from portal.care.alerts import open_alert
from portal.care.assignment import preview_coach_change, preview_deactivation, reassign_coach
from portal.care.models import AlertKind, Plan, PlanStatus
from portal.extensions import db
from tests.plan_factories import make_plan


def test_preview_says_who_now_who_next_and_whether_the_clinic_differs(patient, coach, make_user, make_clinic):
    same_clinic = make_user(Role.COACH, name="Robin Same")
    change = preview_coach_change(patient, same_clinic)
    assert (change.patient, change.current, change.new, change.other_clinic) == (patient, coach, same_clinic, False)
    assert change.changes_anything is True
    assert preview_coach_change(patient, coach).changes_anything is False
    elsewhere = make_user(Role.COACH, clinic_id=make_clinic().id)
    assert preview_coach_change(patient, elsewhere).other_clinic is True
    nowhere = make_user(Role.COACH, clinic_id=None)
    assert preview_coach_change(patient, nowhere).other_clinic is False  # no clinic: nothing to warn about
    patient.coach_id = None
    db.session.commit()
    assert preview_coach_change(patient, coach).changes_anything is True  # no coach yet


@pytest.mark.parametrize("who", ["not a patient", "no coach", "a patient as coach", "an inactive coach"])
def test_preview_and_reassign_refuse_alike(app, patient, coach, make_user, who):
    target, new = patient, make_user(Role.COACH)
    if who == "not a patient":
        target = make_user(Role.COACH)
    elif who == "no coach":
        new = None
    elif who == "a patient as coach":
        new = make_user(Role.PATIENT, coach=coach)
    else:
        new.is_active = False
        db.session.commit()
    message = "Only patients have a coach." if who == "not a patient" else "Choose an active coach."
    with app.test_request_context():
        for attempt in (preview_coach_change, reassign_coach):
            with pytest.raises(AccountError, match=f"^{message}$") as caught:
                attempt(target, new)
            assert caught.value.field == "coach_id"
    assert patient.coach_id == coach.id


def test_reassigning_without_a_previous_coach_names_none(admin, patient, make_user):
    patient.coach_id = None
    db.session.commit()
    new = make_user(Role.COACH, name="Robin New")
    reassign_coach(patient, new, actor=admin)
    db.session.commit()
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "account.reassign_coach")).one()
    assert event.detail_dict == {
        "from_coach": None,
        "from_coach_id": None,
        "to_coach": "Robin New",
        "to_coach_id": new.id,
    }
    assert (event.target_type, event.target_id, event.patient_id) == ("User", patient.id, patient.id)


def test_preview_of_deactivating_a_patient_counts_open_alerts_and_finds_the_plan(admin, patient, coach, make_user):
    empty = preview_deactivation(patient, admin)
    assert (empty.user, empty.refusal, empty.open_alerts, empty.active_plan, empty.patients) == (
        patient,
        None,
        0,
        None,
        [],
    )
    plan = make_plan(patient, coach, start_date=date(2026, 1, 5))
    ended = db.session.execute(
        db.insert(Plan)
        .values(
            patient_id=patient.id,
            coach_id=coach.id,
            title="Old",
            goals="",
            start_date=date(2025, 1, 5),
            status=PlanStatus.ENDED,
            active_key=None,
            version=1,
        )
        .returning(Plan.id)
    ).scalar_one()
    open_alert(patient, AlertKind.PAIN_WORSENING, "Pain up")
    open_alert(patient, AlertKind.MISSED_CHECKINS, "Quiet")
    resolved, _created = open_alert(patient, AlertKind.RED_FLAG, "Fall")
    resolved.resolved_at, resolved.open_key = datetime(2026, 1, 6, 12), None
    # Another patient of the coach, with an open alert and a plan of their own, counts for nothing here.
    other = make_user(Role.PATIENT, coach=coach, name="Aaron Other")
    open_alert(other, AlertKind.PAIN_WORSENING, "Theirs")
    make_plan(other, coach, start_date=date(2026, 1, 1))
    db.session.commit()
    preview = preview_deactivation(patient, admin)
    assert (preview.open_alerts, preview.active_plan, preview.patients) == (2, plan, [])
    assert preview.active_plan.id != ended
    assert preview_deactivation(other, admin).active_plan.patient_id == other.id
    # A patient whose only plan ended has no plan in force: the ended one is not offered instead.
    plan.status, plan.active_key = PlanStatus.ENDED, None
    db.session.commit()
    assert preview_deactivation(patient, admin).active_plan is None


def test_preview_of_deactivating_a_coach_lists_their_active_patients_by_name(admin, coach, patient, make_user):
    zoe = make_user(Role.PATIENT, coach=coach, name="Zoe Last")
    abe = make_user(Role.PATIENT, coach=coach, name="Abe First")
    gone = make_user(Role.PATIENT, coach=coach, name="Gone Away")
    gone.is_active = False
    make_user(Role.PATIENT, coach=make_user(Role.COACH), name="Not Theirs")
    db.session.commit()
    preview = preview_deactivation(coach, admin)
    assert [p.name for p in preview.patients] == ["Abe First", "Pat Patient", "Zoe Last"]
    assert preview.patients[0] is abe and zoe in preview.patients
    assert preview.refusal == "This coach still has patients. Reassign them first."
    assert (preview.open_alerts, preview.active_plan) == (0, None)
    assert preview_deactivation(admin, admin).refusal == "You cannot deactivate your own account."
    assert preview_deactivation(admin).refusal is None


def test_reassigning_moves_only_this_patients_active_plan(admin, patient, coach, make_user):
    other = make_user(Role.PATIENT, coach=coach, name="Rosa Ruiz")
    mine = make_plan(patient, coach)
    theirs = make_plan(other, coach)
    new = make_user(Role.COACH, name="Robin New")
    reassign_coach(patient, new, actor=admin)
    db.session.commit()
    assert (mine.coach_id, theirs.coach_id, other.coach_id) == (new.id, coach.id, coach.id)
