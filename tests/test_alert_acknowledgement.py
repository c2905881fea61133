"""Acknowledge, then resolve: who may acknowledge, what the patient's Today says, the resume notice and message,
and escalation (the deadline per tier, the recipients, once only, and who then sees and acknowledges it)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from portal import push
from portal.audit import AuditEvent
from portal.auth.models import OnCallContact, Role
from portal.care.alerts import (
    AlertError,
    acknowledge_alert,
    can_acknowledge,
    dismiss_resume_notice,
    open_alert,
    open_alert_badge,
    open_alert_count,
    open_alerts_query,
    raise_tier,
    red_flag_status,
    report_red_flag,
    resolve_alert,
)
from portal.care.checkins import patient_today, save_checkin
from portal.care.escalation import escalate_due_alerts, escalation_minutes, escalation_recipients
from portal.care.models import Alert, AlertKind, CheckIn
from portal.care.red_flags import Tier
from portal.extensions import db as _db
from portal.mail import OutboundEmail, public_url
from portal.messaging.models import Message
from portal.timeutil import utcnow
from tests.clock import care_clock  # noqa: F401  (the fixture)
from tests.conftest import csrf_token
from tests.test_checkins import make_plan

pytestmark = pytest.mark.usefixtures("care_clock")
CALM = {"pain": 3, "stiffness": 3}


def _red_flag(patient, answer="rf_walking") -> Alert:
    save_checkin(patient, patient_today(patient), CALM | {answer: True})
    _db.session.commit()
    return _db.session.scalar(_db.select(Alert).where(Alert.patient_id == patient.id, Alert.kind == "red_flag"))


def _post(client, path, page="/coach/alerts", **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def _emails(address: str) -> list[OutboundEmail]:
    return _db.session.scalars(_db.select(OutboundEmail).where(OutboundEmail.to_address == address)).all()


# --- acknowledge -------------------------------------------------------------------------


def test_the_coach_acknowledges_and_the_patients_today_says_so(db, patient, coach, coach_client, patient_client):
    alert = _red_flag(patient)
    inbox = coach_client.get("/coach/alerts").get_data(as_text=True)
    assert "I have seen this and I am contacting the patient" in inbox and ">Acknowledge<" in inbox
    response = _post(coach_client, f"/coach/alerts/{alert.id}/acknowledge")
    assert response.status_code == 302
    db.session.refresh(alert)
    assert alert.acknowledged_by_id == coach.id and alert.acknowledged_at is not None and alert.is_open
    assert db.session.scalar(db.select(AuditEvent.action).where(AuditEvent.action == "alert.acknowledge"))
    today = patient_client.get("/me/").get_data(as_text=True)
    assert "Your coach Casey Coach has seen your report and will contact you." in today
    assert today.index('id="red-flag-box"') < today.index("Your coach Casey Coach has seen your report")
    inbox = coach_client.get("/coach/alerts").get_data(as_text=True)
    assert "Acknowledged by Casey Coach" in inbox and ">Acknowledge<" not in inbox


def test_a_second_acknowledgement_keeps_the_first(db, make_user, patient, coach):
    alert = _red_flag(patient)
    assert acknowledge_alert(alert, coach) is True
    first_at = alert.acknowledged_at
    other = make_user(Role.ADMIN)
    assert acknowledge_alert(alert, other) is False
    db.session.refresh(alert)
    assert (alert.acknowledged_by_id, alert.acknowledged_at) == (coach.id, first_at)


def test_before_escalation_only_the_patients_coach_may_acknowledge(db, make_user, patient, login_as):
    alert = _red_flag(patient)
    colleague = make_user(Role.COACH, clinic_id=patient.clinic_id)
    response = _post(login_as(colleague), f"/coach/alerts/{alert.id}/acknowledge")
    assert response.status_code == 404
    db.session.refresh(alert)
    assert alert.acknowledged_at is None


def test_an_acknowledged_alert_of_another_kind_is_not_the_red_flag_state(db, patient, coach):
    pain = open_alert(patient, AlertKind.PAIN_WORSENING, "Pain went up.")[0]
    acknowledge_alert(pain, coach)
    db.session.commit()
    state = red_flag_status(patient.id, coach_id=coach.id)
    assert (state.open_tier, state.acknowledged_by, state.acknowledged_by_coach) == (None, None, False)
    alert = _red_flag(patient, "rf_fever")
    assert red_flag_status(patient.id, coach_id=coach.id).acknowledged_by is None  # the red flag is not yet seen
    acknowledge_alert(alert, coach)
    db.session.commit()
    state = red_flag_status(patient.id, coach_id=coach.id)
    assert (state.open_tier, state.acknowledged_by, state.acknowledged_by_coach) == ("today", "Casey Coach", True)


def test_resolving_counts_as_acknowledging_when_nobody_had(db, patient, coach):
    alert = _red_flag(patient)
    resolve_alert(alert, coach, "Called her.", resume=False)
    db.session.commit()
    assert (alert.acknowledged_by_id, alert.acknowledged_at) == (coach.id, alert.resolved_at)


def test_resolving_keeps_an_earlier_acknowledgement(db, make_user, patient, coach):
    alert = _red_flag(patient)
    acknowledge_alert(alert, coach)
    seen_at = utcnow() - timedelta(minutes=20)
    alert.acknowledged_at = seen_at
    db.session.commit()
    resolve_alert(alert, make_user(Role.ADMIN), "Seen by the doctor.")
    db.session.commit()
    assert (alert.acknowledged_by_id, alert.acknowledged_at) == (coach.id, seen_at)
    assert alert.resolved_at > seen_at


def test_a_higher_tier_is_a_new_report_to_acknowledge(db, patient, coach):
    alert = _red_flag(patient, "rf_fever")
    acknowledge_alert(alert, coach)
    db.session.commit()
    assert raise_tier(alert, Tier.EMERGENCY) is True
    db.session.commit()
    assert (alert.tier, alert.acknowledged_at, alert.escalated_at) == ("emergency", None, None)


def test_who_may_acknowledge_before_and_after_escalation(db, make_user, make_clinic, patient, coach):
    alert = _red_flag(patient)
    colleague = make_user(Role.COACH, clinic_id=patient.clinic_id)
    elsewhere = make_user(Role.COACH, clinic_id=make_clinic(name="Holistiq Plano", city="Plano").id)
    admin = make_user(Role.ADMIN)
    fellow_patient = make_user(Role.PATIENT, coach=coach, clinic_id=patient.clinic_id)
    assert can_acknowledge(coach, alert) is True  # the patient's own coach, at once
    assert [can_acknowledge(user, alert) for user in (colleague, admin)] == [False, False]
    alert.escalated_at = utcnow()
    db.session.commit()
    assert [can_acknowledge(user, alert) for user in (coach, colleague, admin)] == [True, True, True]
    # Escalated or not: a coach of another clinic, or a patient of the same clinic, never.
    assert [can_acknowledge(user, alert) for user in (elsewhere, fellow_patient)] == [False, False]
    coach.is_active = False
    db.session.commit()
    assert can_acknowledge(coach, alert) is False  # a deactivated account acknowledges nothing
    coach.is_active = True
    resolve_alert(alert, coach, "Called her.")
    db.session.commit()
    assert can_acknowledge(coach, alert) is False  # a resolved alert is past acknowledging


def test_the_acknowledgement_is_audited_with_the_alert_the_coach_and_the_patient(db, patient, coach):
    alert = _red_flag(patient)
    assert acknowledge_alert(alert, coach) is True
    db.session.commit()
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "alert.acknowledge"))
    assert (event.target_type, event.target_id, event.actor_id, event.patient_id) == (
        "Alert",
        alert.id,
        coach.id,
        patient.id,
    )
    assert json.loads(event.detail) == {"kind": "red_flag"}


def test_a_resolved_alert_nobody_acknowledged_cannot_be_acknowledged(db, patient, coach):
    """Alerts resolved before acknowledgements were kept have none: acknowledging one now is refused."""
    alert = _red_flag(patient)
    resolve_alert(alert, coach, "Called her.")
    db.session.execute(update(Alert).values(acknowledged_at=None, acknowledged_by_id=None))
    db.session.commit()
    with pytest.raises(AlertError, match=r"^This alert was already resolved\.$"):
        acknowledge_alert(alert, coach)
    db.session.refresh(alert)
    assert (alert.acknowledged_at, alert.acknowledged_by_id) == (None, None)


def test_dismissing_the_resume_notice_takes_only_that_patients_undismissed_notice(db, make_user, patient, coach):
    other = make_user(Role.PATIENT, coach=coach)
    others = _red_flag(other)
    resolve_alert(others, coach, "Fine now.", resume=True)
    quiet = open_alert(patient, AlertKind.MISSED_CHECKINS, "No check-in for 3 days.")[0]
    resolve_alert(quiet, coach, "She was away.")  # resolved without a resume: no notice
    notice = _red_flag(patient)
    resolve_alert(notice, coach, "Cleared.", resume=True)
    db.session.commit()
    assert dismiss_resume_notice(patient, others.id) is False  # another patient's notice
    assert dismiss_resume_notice(patient, quiet.id) is False  # not a notice
    db.session.refresh(notice)
    assert notice.resume_notice_dismissed_at is None
    assert dismiss_resume_notice(patient, notice.id) is True
    assert dismiss_resume_notice(patient, notice.id) is False  # already dismissed
    db.session.commit()
    rows = {a.id: a.resume_notice_dismissed_at for a in db.session.scalars(db.select(Alert))}
    assert rows[notice.id] is not None and rows[others.id] is None and rows[quiet.id] is None


def test_a_soon_red_flag_rises_to_today_once_and_is_audited(db, patient, coach):
    alert = _red_flag(patient, "rf_activity_stopping")
    assert (alert.tier, alert.exercises_paused) == ("soon", False)
    assert raise_tier(alert, Tier.TODAY) is True
    db.session.commit()
    assert (alert.tier, alert.severity, alert.exercises_paused) == ("today", 1, True)
    assert raise_tier(alert, Tier.TODAY) is False  # not higher than its own
    assert raise_tier(alert, Tier.SOON) is False
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "alert.raise_tier")).all()
    assert [(e.target_type, e.target_id, e.patient_id, json.loads(e.detail)) for e in events] == [
        ("Alert", alert.id, patient.id, {"tier": "today"})
    ]


def test_raising_touches_only_that_open_alert(db, make_user, patient, coach):
    other = make_user(Role.PATIENT, coach=coach)
    others = _red_flag(other, "rf_activity_stopping")
    pain = open_alert(patient, AlertKind.PAIN_WORSENING, "Pain went up.")[0]
    alert = _red_flag(patient, "rf_activity_stopping")
    assert raise_tier(alert, Tier.EMERGENCY) is True
    db.session.commit()
    db.session.refresh(others)
    db.session.refresh(pain)
    assert (others.tier, others.severity) == ("soon", 2)
    assert (pain.kind, pain.tier, pain.tier_at, pain.severity) == ("pain_worsening", None, None, 3)


def test_a_resolved_alert_is_not_raised(db, patient, coach):
    alert = _red_flag(patient, "rf_fever")
    resolve_alert(alert, coach, "Called her.")
    db.session.commit()
    assert raise_tier(alert, Tier.EMERGENCY) is False
    assert (alert.tier, alert.severity) == ("today", 1)


def _stored_meanwhile(alert: Alert, **values) -> None:
    """Another request stores ``values`` on the alert; the object read here is not refreshed."""
    _db.session.execute(
        update(Alert).where(Alert.id == alert.id).values(**values), execution_options={"synchronize_session": False}
    )


def test_a_tier_raised_meanwhile_by_another_check_in_is_never_lowered(db, patient, coach):
    alert = _red_flag(patient, "rf_activity_stopping")
    _stored_meanwhile(alert, tier="emergency", severity=0)
    assert alert.tier == "soon"  # what this request read
    assert raise_tier(alert, Tier.TODAY) is False
    assert (alert.tier, alert.severity) == ("emergency", 0)


def test_a_tier_raised_meanwhile_to_the_same_tier_is_not_reported_twice(db, patient, coach):
    alert = _red_flag(patient, "rf_activity_stopping")
    _stored_meanwhile(alert, tier="today", severity=1, acknowledged_by_id=coach.id)
    assert raise_tier(alert, Tier.TODAY) is False  # the other request raised it: the acknowledgement stays
    assert (alert.tier, alert.acknowledged_by_id) == ("today", coach.id)
    assert (
        db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "alert.raise_tier")) == 0
    )


# --- resolving with resume tells the patient ---------------------------------------------


def test_resolving_with_resume_tells_the_patient_on_today_and_in_a_message(
    db, patient, coach, coach_client, patient_client
):
    make_plan(db, patient, coach)
    alert = _red_flag(patient)
    note = "Spoke with you; the doctor cleared the stretches."
    response = _post(coach_client, f"/coach/alerts/{alert.id}/resolve", note=note, resume="yes")
    assert response.status_code == 302
    day = patient_today(patient)
    expected = f"Your coach resumed your exercises on {day:%A, %B} {day.day}: {note}"
    today = patient_client.get("/me/").get_data(as_text=True)
    assert expected in today
    assert 'id="red-flag-box"' not in today
    message = db.session.scalar(db.select(Message).where(Message.patient_id == patient.id))
    assert (message.sender_id, message.body) == (coach.id, expected)
    # Dismissed, it stays gone (and someone else's notice is not theirs to dismiss).
    dismiss = f"/me/today/resumed/{alert.id}/dismiss"
    assert _post(patient_client, dismiss, page="/me/").status_code == 302
    assert expected not in patient_client.get("/me/").get_data(as_text=True)
    assert _post(patient_client, dismiss, page="/me/").status_code == 302  # twice: no error


def test_a_resume_notice_without_a_note_or_a_known_coach_stays_blank_there(db, patient, coach):
    alert = _red_flag(patient)
    resolve_alert(alert, coach, "", resume=True)
    # A row whose resolver is not recorded (the column allows it).
    db.session.execute(update(Alert).values(resolved_by_id=None))
    db.session.commit()
    notice = red_flag_status(patient.id, patient.tz).resume_notice
    assert (notice.alert_id, notice.day, notice.note, notice.by) == (alert.id, patient_today(patient), "", "")


def test_resolving_without_resume_says_nothing_to_the_patient(db, patient, coach, coach_client, patient_client):
    alert = _red_flag(patient)
    _post(coach_client, f"/coach/alerts/{alert.id}/resolve", note="Seeing the doctor tomorrow.", resume="no")
    assert "resumed your exercises" not in patient_client.get("/me/").get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_a_newer_resume_notice_replaces_the_older_one_of_that_patient_only(db, make_user, patient, coach):
    """The patient is told of the latest resume only; other patients' notices and alerts without one are untouched,
    and a notice dismissed earlier keeps the time it was dismissed."""
    other = make_user(Role.PATIENT, coach=coach)
    others = _red_flag(other)
    resolve_alert(others, coach, "Fine now.", resume=True)
    dismissed_at = utcnow() - timedelta(days=3)
    read = open_alert(patient, AlertKind.PAIN_WORSENING, "Pain went up.")[0]
    resolve_alert(read, coach, "Better.", resume=True)
    read.resume_notice_dismissed_at = dismissed_at
    quiet = open_alert(patient, AlertKind.MISSED_CHECKINS, "No check-in for 3 days.")[0]
    resolve_alert(quiet, coach, "She was away.")
    older = _red_flag(patient)
    resolve_alert(older, coach, "Cleared.", resume=True)
    db.session.commit()
    newer = open_alert(patient, AlertKind.RED_FLAG, "Reported again.", notify=False)[0]
    resolve_alert(newer, coach, "Cleared again.", resume=True)
    db.session.commit()
    rows = {a.id: a.resume_notice_dismissed_at for a in db.session.scalars(db.select(Alert))}
    assert rows[older.id] == newer.resolved_at  # the older notice gave way when the newer one came
    assert rows[newer.id] is None and rows[others.id] is None and rows[quiet.id] is None
    assert rows[read.id] == dismissed_at


def test_a_patient_cannot_dismiss_anothers_notice(db, make_user, coach, patient, login_as):
    other = make_user(Role.PATIENT, coach=coach)
    alert = _red_flag(other)
    resolve_alert(alert, coach, "Fine now.", resume=True)
    db.session.commit()
    client = login_as(patient)
    assert _post(client, f"/me/today/resumed/{alert.id}/dismiss", page="/me/").status_code == 404
    db.session.refresh(alert)
    assert alert.resume_notice_dismissed_at is None


# --- escalation --------------------------------------------------------------------------


@pytest.fixture
def on_call(db, clinic):
    contact = OnCallContact(clinic_id=clinic.id, name="Dr. Night", email="night@clinic.example", phone="(817) 555-0199")
    db.session.add(contact)
    db.session.commit()
    return contact


def test_an_emergency_emails_the_on_call_contacts_at_once_without_health_data(db, patient, coach, on_call):
    _red_flag(patient, "rf_bladder_bowel")
    (mail,) = _emails(on_call.email)
    assert mail.subject == "Emergency safety alert at Holistiq Arlington"
    assert mail.body == (
        "A patient of Holistiq Arlington reported a symptom that needs emergency care, and was told to call 911.\n"
        "You are one of the clinic's on-call contacts. Please make sure the patient's coach has seen it:\n"
        f"sign in to Holistiq Coach ({public_url('auth.index')}), or call the clinic at (817) 555-0142."
    )
    for private in ("bladder", "bowel", patient.name, patient.email):
        assert private not in mail.body and private not in mail.subject
    assert len(_emails(coach.email)) == 1


@pytest.mark.parametrize(
    ("answer", "push_alerts", "pushed"),
    [
        ("rf_bladder_bowel", True, True),
        ("rf_walking", True, True),
        ("rf_activity_stopping", True, False),  # Soon: the email only
        ("rf_bladder_bowel", False, False),  # the coach did not ask for alert notifications
    ],
)
def test_the_coachs_phone_is_told_of_emergency_and_urgent_red_flags_only_in_words_without_health_data(
    db, patient, coach, answer, push_alerts, pushed
):
    # The coach's phone: a real subscription, and what the outbox holds for it (delivery to a push service is
    # tests/test_push.py's).
    phone = push.PushSubscription(
        user_id=coach.id, endpoint="https://push.example.com/c", p256dh="k" * 87, auth="a" * 22
    )
    db.session.add(phone)
    coach.push_alerts = push_alerts
    db.session.commit()
    _red_flag(patient, answer)
    queued = [
        (m.recipient, m.subject, m.text, m.link, m.urgency) for m in db.session.scalars(db.select(push.OutboundPush))
    ]
    expected = (
        str(phone.id),
        "Holistiq Coach",
        "Urgent alert for a patient: open the portal",
        public_url("coaching.alerts"),
        "high",
    )
    assert queued == ([expected] if pushed else [])


def test_an_urgent_alert_does_not_email_on_call_at_once(db, patient, on_call):
    _red_flag(patient, "rf_fever")
    assert _emails(on_call.email) == []


@pytest.mark.parametrize(
    ("answer", "minutes", "escalates"),
    [
        ("rf_bladder_bowel", 29, False),
        ("rf_bladder_bowel", 30, True),
        ("rf_fever", 239, False),
        ("rf_fever", 240, True),
        ("rf_activity_stopping", 60 * 24 * 7, False),  # Attention alerts are never escalated
    ],
)
def test_each_tier_escalates_after_its_own_minutes(db, patient, on_call, make_user, answer, minutes, escalates):
    admin = make_user(Role.ADMIN, clinic_id=patient.clinic_id)
    alert = _red_flag(patient, answer)
    before = len(_emails(on_call.email))
    escalated = escalate_due_alerts(alert.tier_at + timedelta(minutes=minutes))
    db.session.commit()
    assert escalated == ([alert.id] if escalates else [])
    assert len(_emails(on_call.email)) - before == int(escalates)
    assert len(_emails(admin.email)) == int(escalates)


def test_escalation_happens_once_and_never_for_an_acknowledged_alert(db, patient, coach, make_user, on_call):
    first = _red_flag(patient, "rf_bladder_bowel")
    other = make_user(Role.PATIENT, coach=coach)
    second = _red_flag(other, "rf_bladder_bowel")
    acknowledge_alert(second, coach)
    db.session.commit()
    later = utcnow() + timedelta(minutes=31)
    assert escalate_due_alerts(later) == [first.id]
    db.session.commit()
    assert escalate_due_alerts(later + timedelta(minutes=5)) == []
    escalation_mails = [m for m in _emails(on_call.email) if m.subject.startswith("Escalated")]
    assert len(escalation_mails) == 1
    body = escalation_mails[0].body
    assert "Emergency" in body and "30 minutes" in body and patient.name not in body and "bladder" not in body


def test_an_escalated_alert_shows_to_every_coach_of_the_clinic_who_may_acknowledge(
    db, patient, make_user, make_clinic, login_as, patient_client
):
    alert = _red_flag(patient, "rf_bladder_bowel")
    colleague = make_user(Role.COACH, clinic_id=patient.clinic_id, name="Col League")
    elsewhere = make_user(Role.COACH, clinic_id=make_clinic().id)
    escalate_due_alerts(utcnow() + timedelta(minutes=31))
    db.session.commit()
    colleague_client = login_as(colleague)
    inbox = colleague_client.get("/coach/alerts").get_data(as_text=True)
    assert patient.name in inbox and "Escalated " in inbox
    assert "bladder" not in inbox.lower()  # not their patient: no symptoms shown
    assert 'data-badge="open_alerts">1<' in inbox
    own = login_as(patient.coach).get("/coach/alerts").get_data(as_text=True)
    assert 'data-badge="open_alerts">1<' in own  # the coach's own escalated alert is counted once
    assert patient.name not in login_as(elsewhere).get("/coach/alerts").get_data(as_text=True)
    assert _post(colleague_client, f"/coach/alerts/{alert.id}/acknowledge").status_code == 302
    db.session.refresh(alert)
    assert alert.acknowledged_by_id == colleague.id
    today = patient_client.get("/me/").get_data(as_text=True)
    assert "Col League from your clinic has seen your report and will contact you." in today
    # Acknowledging is all they may do: the patient's record stays their coach's.
    assert colleague_client.get(f"/coach/patients/{patient.id}").status_code == 404


def test_a_coach_sees_the_escalated_open_alerts_of_clinic_patients_without_a_coach_and_no_resolved_ones(
    db, patient, coach, make_user
):
    colleague = make_user(Role.COACH, clinic_id=patient.clinic_id)
    uncoached = make_user(Role.PATIENT, coach=colleague, clinic_id=patient.clinic_id)
    uncoached.coach_id = None  # their coach left: the clinic's coaches cover them
    theirs = make_user(Role.PATIENT, coach=colleague, clinic_id=patient.clinic_id)
    waiting = open_alert(uncoached, AlertKind.RED_FLAG, "Reported", notify=False, tier=Tier.EMERGENCY)[0]
    done = open_alert(theirs, AlertKind.RED_FLAG, "Reported", notify=False, tier=Tier.EMERGENCY)[0]
    for alert in (waiting, done):
        alert.escalated_at = utcnow()
    db.session.flush()
    resolve_alert(done, colleague, "Seen at the clinic.")
    db.session.commit()
    assert open_alert_count(coach) == 1
    assert [alert.id for alert in db.session.scalars(open_alerts_query(coach))] == [waiting.id]


def test_only_a_coach_has_the_open_alerts_badge():
    assert open_alert_badge(Role.COACH) is not None
    assert (open_alert_badge(Role.PATIENT), open_alert_badge(Role.ADMIN)) == (None, None)


def test_a_red_flag_reported_again_points_at_the_latest_check_in_and_keeps_it_when_reported_without_one(
    db, patient, coach
):
    day = patient_today(patient)
    first, latest = (
        CheckIn(patient_id=patient.id, day=day - timedelta(days=n), pain=5, stiffness=5, rf_walking=True)
        for n in (1, 0)
    )
    db.session.add_all([first, latest])
    db.session.flush()
    alert, created = report_red_flag(patient, Tier.TODAY, "Reported first", first.id)
    assert created and alert.checkin_id == first.id
    assert report_red_flag(patient, Tier.TODAY, "Reported again", latest.id) == (alert, False)
    assert (alert.checkin_id, alert.summary) == (latest.id, "Reported again")
    report_red_flag(patient, Tier.TODAY, "Reported at the intake", None)
    assert (alert.checkin_id, alert.summary) == (latest.id, "Reported at the intake")


def test_a_new_red_flag_opened_by_the_helper_has_its_tier_time(db, patient):
    alert, created = open_alert(patient, AlertKind.RED_FLAG, "r", tier=Tier.EMERGENCY, notify=False)
    assert created and alert.tier_at == alert.opened_at


def test_escalation_goes_to_the_on_call_contacts_then_the_clinics_active_admins_each_address_once(
    db, patient, make_user, make_clinic, on_call
):
    db.session.add(OnCallContact(clinic_id=patient.clinic_id, name="Boss", email="Boss@Clinic.example", phone="-"))
    db.session.commit()
    boss = make_user(Role.ADMIN, clinic_id=patient.clinic_id, email="boss@clinic.example")
    admin = make_user(Role.ADMIN, clinic_id=patient.clinic_id)
    make_user(Role.ADMIN, clinic_id=patient.clinic_id, is_active=False)  # no longer works here
    make_user(Role.ADMIN, clinic_id=make_clinic().id)  # another clinic's
    make_user(Role.COACH, clinic_id=patient.clinic_id)  # a coach is told through the inbox, not by this email
    assert escalation_recipients(patient.clinic_id) == [on_call.email, boss.email, admin.email]


def test_a_clinic_without_an_active_admin_escalates_to_every_active_admin(db, make_user, make_clinic):
    lonely = make_clinic()
    make_user(Role.ADMIN, clinic_id=lonely.id, is_active=False)
    first = make_user(Role.ADMIN, clinic_id=make_clinic().id)
    second = make_user(Role.ADMIN, clinic_id=None)
    make_user(Role.ADMIN, clinic_id=make_clinic().id, is_active=False)
    make_user(Role.COACH, clinic_id=lonely.id)  # never in the fallback: only admins are
    assert escalation_recipients(lonely.id) == [first.email, second.email]


def test_overdue_alerts_escalate_oldest_tier_first_with_their_time_audit_and_email(
    db, patient, coach, make_user, on_call
):
    other = make_user(Role.PATIENT, coach=coach)
    newer, older = _red_flag(patient, "rf_bladder_bowel"), _red_flag(other, "rf_bladder_bowel")
    start = utcnow()
    newer.tier_at, older.tier_at = start, start - timedelta(minutes=1)
    db.session.commit()
    now = start + timedelta(minutes=30)
    assert escalate_due_alerts(now) == [older.id, newer.id]
    db.session.commit()
    assert (newer.escalated_at, older.escalated_at) == (now, now)
    audits = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "alert.escalate")).all()
    assert sorted((e.target_type, e.target_id, e.patient_id, e.detail_dict) for e in audits) == sorted(
        ("Alert", alert.id, alert.patient_id, {"tier": "emergency"}) for alert in (newer, older)
    )
    (mail, _second) = [m for m in _emails(on_call.email) if m.subject.startswith("Escalated")]
    assert mail.subject == "Escalated: a safety alert at Holistiq Arlington is waiting"
    assert mail.body == (
        "A safety alert of severity Emergency at Holistiq Arlington has waited 30 minutes and nobody has acknowledged"
        " it yet.\nPlease sign in to Holistiq Coach (coaches: Alerts; admins: Safety) and acknowledge it once you are"
        f" handling it:\n{public_url('auth.index')}\nThe clinic's phone: (817) 555-0142"
    )


def test_a_patient_without_a_clinic_escalates_to_every_admin_naming_the_practice(db, coach, make_user):
    admin = make_user(Role.ADMIN)
    patient = make_user(Role.PATIENT, coach=coach)
    patient.clinic_id = None  # an account from before clinics: the column allows it, and the figures group them apart
    db.session.commit()
    alert = _red_flag(patient, "rf_bladder_bowel")
    assert escalate_due_alerts(alert.tier_at + timedelta(minutes=30)) == [alert.id]
    db.session.commit()
    (mail,) = [m for m in _emails(admin.email) if m.subject.startswith("Escalated")]
    assert mail.subject == "Escalated: a safety alert at the practice is waiting"
    assert "The clinic's phone: -" in mail.body


def test_only_an_open_unescalated_red_flag_escalates(db, patient, coach, make_user, on_call):
    resolved = _red_flag(patient, "rf_bladder_bowel")
    resolve_alert(resolved, coach, "Called, fine.")
    other = make_user(Role.PATIENT, coach=coach)
    worse = Alert(patient_id=other.id, kind=str(AlertKind.PAIN_WORSENING), tier="emergency", summary="s")
    db.session.add(worse)
    db.session.commit()
    worse.tier_at = resolved.tier_at
    db.session.commit()
    assert escalate_due_alerts(resolved.tier_at + timedelta(days=1)) == []


def test_each_tier_waits_its_configured_minutes_and_soon_never_escalates(app):
    assert escalation_minutes(Tier.EMERGENCY) == app.config["SAFETY_ESCALATION_MINUTES"] == 30
    assert escalation_minutes(Tier.TODAY) == app.config["URGENT_ESCALATION_MINUTES"] == 240
    assert escalation_minutes(Tier.SOON) is None


def test_an_alert_acknowledged_between_the_read_and_the_claim_is_skipped_and_the_next_still_escalates(
    db, patient, coach, make_user, on_call
):
    other = make_user(Role.PATIENT, coach=coach)
    first, second = _red_flag(patient, "rf_bladder_bowel"), _red_flag(other, "rf_bladder_bowel")
    start = utcnow()
    first.tier_at, second.tier_at = start - timedelta(minutes=1), start
    db.session.commit()
    now = start + timedelta(minutes=30)
    session = db.session()
    claims = []

    def another_worker_acknowledges_first(state):
        # What a coach's click in another process does between this worker's read and its first claim.
        if state.is_update and not claims:
            claims.append(state.statement)
            state.session.execute(update(Alert).where(Alert.id == first.id).values(acknowledged_at=now))

    event.listen(session, "do_orm_execute", another_worker_acknowledges_first)
    try:
        assert escalate_due_alerts(now) == [second.id]
    finally:
        event.remove(session, "do_orm_execute", another_worker_acknowledges_first)
    db.session.commit()
    db.session.refresh(first)
    assert claims and first.escalated_at is None and first.acknowledged_at == now
