"""Reminders by email (`flask reminders send`, and the worker's "reminders" job): the daily
check-in reminder, and the plan reminders at the patient's times of day.

A patient with a reminder time gets one email on a local day when that time has
passed in their own time zone and they have not checked in yet. "At most once a
day" is enforced by the database, not by timing: the day is claimed by inserting
a ReminderSent row (unique per patient and day) in the same transaction that
queues the email. A second run, or a second machine running at the same moment,
hits the unique key and sends nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from portal import mail, outbox
from portal.auth.models import Role, User
from portal.care.models import CheckIn, Plan, PlanItem, PlanStatus
from portal.care.today import round_items
from portal.extensions import db
from portal.i18n import supported_language
from portal.mail import OutboundEmail
from portal.messaging.models import PlanReminderSent, ReminderSent
from portal.sqlutil import insert_for
from portal.timeutil import as_local, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    patient: User
    day: date  # the patient's local day the reminder is for


def _local_now(user: User, now_utc: datetime) -> datetime:
    return as_local(now_utc, user.tz)


def due_reminders(now_utc: datetime | None = None) -> list[Due]:
    """Patients whose reminder time has passed today (local) with no check-in and no reminder yet.

    Three queries whatever the number of patients: candidates, their check-ins
    for the relevant days, and reminders already claimed for those days.
    """
    now_utc = now_utc or utcnow()
    candidates = db.session.scalars(
        db.select(User)
        .where(User.role == Role.PATIENT, User.is_active.is_(True), User.reminder_time.is_not(None))
        .order_by(User.id)
    ).all()
    pending: list[Due] = []
    for user in candidates:
        local = _local_now(user, now_utc)
        if local.time().replace(tzinfo=None) >= user.reminder_time:
            pending.append(Due(user, local.date()))
    if not pending:
        return []
    keys = [(due.patient.id, due.day) for due in pending]
    ids = [key[0] for key in keys]
    days = {key[1] for key in keys}
    checked_in = set(
        db.session.execute(
            db.select(CheckIn.patient_id, CheckIn.day).where(CheckIn.patient_id.in_(ids), CheckIn.day.in_(days))
        ).all()
    )
    reminded = set(
        db.session.execute(
            db.select(ReminderSent.patient_id, ReminderSent.day).where(
                ReminderSent.patient_id.in_(ids), ReminderSent.day.in_(days)
            )
        ).all()
    )
    return [due for due in pending if (due.patient.id, due.day) not in checked_in | reminded]


def claim(dues: list[Due], batch: int = 500) -> set[int]:
    """Insert the ReminderSent rows for these patients' days; returns the patient ids this run won.

    INSERT ... ON CONFLICT DO NOTHING RETURNING: the unique key decides between two
    runs without aborting the transaction (on PostgreSQL a concurrent insert waits
    for the other transaction, then finds the row taken and returns nothing for it).
    """
    won: set[int] = set()
    now = utcnow()
    for start in range(0, len(dues), batch):
        rows = [{"patient_id": d.patient.id, "day": d.day, "sent_at": now} for d in dues[start : start + batch]]
        result = db.session.execute(
            insert_for(ReminderSent)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["patient_id", "day"])
            .returning(ReminderSent.patient_id)
        )
        won.update(result.scalars())
    return won


def reminder_email(patient: User) -> OutboundEmail:
    """Queue the reminder: a nudge and a link, nothing about the patient's health."""
    with force_locale(supported_language(patient.language)):
        body = _(
            "Hello %(name)s,\n\n"
            "This is your daily reminder to check in on Holistiq Coach. It takes about a minute\n"
            "and helps your coach adjust your home plan:\n\n"
            "%(link)s\n\n"
            "You can change the reminder time, or turn it off, under Your account:\n"
            "%(account)s\n",
            name=patient.name.split()[0] if patient.name.strip() else _("there"),
            link=mail.public_url(_checkin_endpoint()),
            account=mail.public_url("auth.account"),
        )
        return mail.queue_email(patient.email, _("Your daily check-in on Holistiq Coach"), body)


def _checkin_endpoint() -> str:
    return "patients.checkin" if "patients.checkin" in current_app.view_functions else "auth.index"


def send_reminders(now_utc: datetime | None = None) -> int:
    """Claim, queue and send today's due reminders; returns how many were claimed and queued."""
    dues = due_reminders(now_utc)
    won = claim(dues) if dues else set()
    queued = [reminder_email(due.patient) for due in dues if due.patient.id in won]
    # One commit for the claims and their emails: a crash before it sends nothing
    # and claims nothing; after it, unsent emails wait in the queue for `flask mail retry`.
    db.session.commit()
    delivered = 0
    for email in queued:
        if not outbox.send_now(email):
            # The mail server is failing: stop here rather than wait out a timeout per
            # patient; the rest are queued and `flask mail retry` sends them later.
            break
        delivered += 1
    log.info(
        "Reminders: %d queued, %d delivered now, %d left for retry", len(queued), delivered, len(queued) - delivered
    )
    return len(queued)


# --- plan reminders: at each of the patient's times of day ("When I do my plan") ----------------


@dataclass(frozen=True)
class PlanDue:
    patient: User
    day: date  # the patient's local day
    slot: int  # which of their times of day (0: the first), i.e. round slot + 1 of ``rounds``
    rounds: int


def due_plan_reminders(now_utc: datetime | None = None) -> list[PlanDue]:
    """Patients who asked for plan reminders, for the latest of their times of day that has passed
    today (local) when that round has an item due and its reminder was not sent yet.

    Three queries whatever the number of patients: candidates, their plans' items, the claims."""
    now_utc = now_utc or utcnow()
    candidates = db.session.scalars(
        db.select(User)
        .where(User.role == Role.PATIENT, User.is_active.is_(True), User.plan_reminders.is_(True))
        .order_by(User.id)
    ).all()
    latest: list[PlanDue] = []
    for user in candidates:
        local = _local_now(user, now_utc)
        times = user.plan_times
        passed = [slot for slot, at in enumerate(times) if local.time().replace(tzinfo=None) >= at]
        if passed:
            latest.append(PlanDue(user, local.date(), passed[-1], len(times)))
    if not latest:
        return []
    ids = [due.patient.id for due in latest]
    items: dict[int, list] = {}
    for patient_id, start, item in db.session.execute(
        db.select(Plan.patient_id, Plan.start_date, PlanItem)
        .join(PlanItem, PlanItem.plan_id == Plan.id)
        .where(Plan.patient_id.in_(ids), Plan.status == PlanStatus.ACTIVE, PlanItem.is_active.is_(True))
    ):
        items.setdefault(patient_id, []).append((start, item))
    claimed = set(
        db.session.execute(
            db.select(PlanReminderSent.patient_id, PlanReminderSent.day, PlanReminderSent.slot).where(
                PlanReminderSent.patient_id.in_(ids), PlanReminderSent.day.in_({due.day for due in latest})
            )
        ).all()
    )
    found = []
    for due in latest:
        if (due.patient.id, due.day, due.slot) in claimed:
            continue
        today = [item for start, item in items.get(due.patient.id, []) if start <= due.day and item.is_due_on(due.day)]
        if round_items(today, due.rounds)[due.slot]:
            found.append(due)
    return found


def claim_plan_reminders(dues: list[PlanDue]) -> set[tuple[int, int]]:
    """Insert the PlanReminderSent rows; returns the (patient id, slot) this run won (the unique
    key decides between two workers, as for the check-in reminder)."""
    if not dues:
        return set()
    now = utcnow()
    rows = [{"patient_id": d.patient.id, "day": d.day, "slot": d.slot, "sent_at": now} for d in dues]
    result = db.session.execute(
        insert_for(PlanReminderSent)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["patient_id", "day", "slot"])
        .returning(PlanReminderSent.patient_id, PlanReminderSent.slot)
    )
    return {(patient_id, slot) for patient_id, slot in result}


def plan_reminder_email(due: PlanDue) -> OutboundEmail:
    """Queue the plan reminder: which round it is and a link, nothing about the patient's health."""
    patient = due.patient
    with force_locale(supported_language(patient.language)):
        body = _(
            "Hello %(name)s,\n\n"
            "It is time for round %(round)s of %(rounds)s of your home plan today:\n\n"
            "%(link)s\n\n"
            "You can change these times, or turn these reminders off, under Your account:\n"
            "%(account)s\n",
            name=patient.name.split()[0] if patient.name.strip() else _("there"),
            round=due.slot + 1,
            rounds=due.rounds,
            link=mail.public_url(_today_endpoint()),
            account=mail.public_url("auth.account"),
        )
        return mail.queue_email(patient.email, _("Time for your home plan"), body)


def _today_endpoint() -> str:
    return "patients.today" if "patients.today" in current_app.view_functions else "auth.index"


def send_plan_reminders(now_utc: datetime | None = None) -> int:
    """Claim and queue the plan reminders due now (one commit), then send them; returns how many."""
    dues = due_plan_reminders(now_utc)
    won = claim_plan_reminders(dues)
    queued = [plan_reminder_email(due) for due in dues if (due.patient.id, due.slot) in won]
    db.session.commit()
    for email in queued:
        if not outbox.send_now(email):
            break  # the rest wait in the outbox
    log.info("Plan reminders: %d queued", len(queued))
    return len(queued)


def send_all_reminders() -> int:
    """Both kinds, as `flask reminders send` and the worker run them."""
    return send_reminders() + send_plan_reminders()
