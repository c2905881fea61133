"""Daily check-in reminders by email (`flask reminders send`, run by cron every 15 minutes).

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

from portal import mail
from portal.auth.models import Role, User
from portal.care.models import CheckIn
from portal.extensions import db
from portal.i18n import supported_language
from portal.mail import OutboundEmail
from portal.messaging.models import ReminderSent
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
        if not mail.deliver(email):
            # The mail server is failing: stop here rather than wait out a timeout per
            # patient; the rest are queued and `flask mail retry` sends them later.
            break
        delivered += 1
    log.info(
        "Reminders: %d queued, %d delivered now, %d left for retry", len(queued), delivered, len(queued) - delivered
    )
    return len(queued)
