"""Reminders on every channel (`flask reminders send`, and the worker's "reminders" job): the plan reminder at
each of the patient's times of day ("When I do my plan"), and the check-in reminder when the check-in is not saved
by their evening time.

A reminder goes by every channel the patient has on (email unless they turned it off, texts once verified and on,
and any channel registered with ``reminder_recipients``, see portal.outbox), in their language, with generic text
and a link: never a symptom, a score or an item name. It is never sent during the patient's quiet hours (a time
that falls in them waits until they end, that same local day), and not at all once it is satisfied: the round is
done, or the check-in saved.

"At most once" is enforced by the database, not by timing: a reminder is claimed by inserting its row
(``ReminderSent`` unique per patient and day; ``PlanReminderSent`` per patient, day and time of day) in the same
transaction that queues its messages. A second run, or a second worker at the same moment, hits the unique key
and queues nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from flask import current_app
from flask_babel import gettext as _

from portal import mail, outbox
from portal.auth.models import Role, User, in_quiet_hours
from portal.care.alerts import patients_with_exercises_paused
from portal.care.models import CheckIn, ItemLog, Plan, PlanItem, PlanItemPause, PlanStatus
from portal.care.today import is_paused, round_items
from portal.extensions import db
from portal.i18n import force_locale, supported_language
from portal.messaging.models import PlanReminderSent, ReminderSent
from portal.messaging.services import first_name
from portal.outbox import OutboundMessage
from portal.sqlutil import insert_for
from portal.timeutil import as_local, utcnow

log = logging.getLogger(__name__)


# --- the due rule (pure: no database) -------------------------------------------------------------


def latest_passed(now: time, times: Iterable[time]) -> int | None:
    """The index of the latest of ``times`` (sorted) that has passed at local time ``now``; None before the first."""
    passed = [slot for slot, at in enumerate(times) if now >= at]
    return passed[-1] if passed else None


def checkin_due(now: time, evening: time | None, quiet: tuple[time, time], checked_in: bool) -> bool:
    """The check-in reminder is due from the evening time on, outside quiet hours, until the check-in is saved."""
    return evening is not None and now >= evening and not checked_in and not in_quiet_hours(now, *quiet)


def plan_slot_due(now: time, times: list[time], quiet: tuple[time, time], round_done: list[bool]) -> int | None:
    """The plan reminder due now: the latest time of day passed (earlier ones are not sent late), outside quiet
    hours, when that round has something due and not done (``round_done[slot]`` is None for an empty round)."""
    if in_quiet_hours(now, *quiet):
        return None
    slot = latest_passed(now, times)
    if slot is None or round_done[slot] is not False:
        return None
    return slot


# --- who is due now ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    patient: User
    day: date  # the patient's local day the reminder is for


@dataclass(frozen=True)
class PlanDue:
    patient: User
    day: date  # the patient's local day
    slot: int  # which of their times of day (0: the first), i.e. round slot + 1 of ``rounds``
    rounds: int


def _local_now(user: User, now_utc: datetime) -> datetime:
    return as_local(now_utc, user.tz)


def _quiet(user: User) -> tuple[time, time]:
    return (user.quiet_start, user.quiet_end)


def due_reminders(now_utc: datetime | None = None) -> list[Due]:
    """Patients whose evening (check-in reminder) time has passed today (local), outside their quiet hours, with
    no check-in and no reminder yet. Three queries whatever the number of patients."""
    now_utc = now_utc or utcnow()
    candidates = db.session.scalars(
        db.select(User)
        .where(User.role == Role.PATIENT, User.is_active.is_(True), User.reminder_time.is_not(None))
        .order_by(User.id)
    ).all()
    pending: list[Due] = []
    for user in candidates:
        local = _local_now(user, now_utc)
        if checkin_due(local.time().replace(tzinfo=None), user.reminder_time, _quiet(user), checked_in=False):
            pending.append(Due(user, local.date()))
    if not pending:
        return []
    ids = [due.patient.id for due in pending]
    days = {due.day for due in pending}
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


def due_plan_reminders(now_utc: datetime | None = None) -> list[PlanDue]:
    """Patients who asked for plan reminders, for the latest of their times of day that has passed today (local),
    outside their quiet hours, when that round has an item due that is not done (nor paused) and its reminder was
    not sent yet.

    Six queries whatever the number of patients: candidates, their plans' items, pauses of items, red flags
    pausing exercises, today's logs, the claims."""
    now_utc = now_utc or utcnow()
    candidates = db.session.scalars(
        db.select(User)
        .where(User.role == Role.PATIENT, User.is_active.is_(True), User.plan_reminders.is_(True))
        .order_by(User.id)
    ).all()
    latest: list[tuple[PlanDue, time]] = []
    for user in candidates:
        local = _local_now(user, now_utc)
        now = local.time().replace(tzinfo=None)
        if in_quiet_hours(now, *_quiet(user)):
            continue
        times = user.plan_times
        slot = latest_passed(now, times)
        if slot is not None:
            latest.append((PlanDue(user, local.date(), slot, len(times)), now))
    if not latest:
        return []
    ids = [due.patient.id for due, _now in latest]
    days = {due.day for due, _now in latest}
    items: dict[int, list] = {}
    for patient_id, start, item in db.session.execute(
        db.select(Plan.patient_id, Plan.start_date, PlanItem)
        .join(PlanItem, PlanItem.plan_id == Plan.id)
        .where(Plan.patient_id.in_(ids), Plan.status == PlanStatus.ACTIVE, PlanItem.is_active.is_(True))
    ):
        items.setdefault(patient_id, []).append((start, item))
    # A paused item asks for nothing: a coach's pause of the item, or a red flag pausing the exercises.
    item_ids = [item.id for rows in items.values() for _start, item in rows]
    coach_paused = set(
        db.session.scalars(
            db.select(PlanItemPause.plan_item_id).where(
                PlanItemPause.plan_item_id.in_(item_ids), PlanItemPause.open_key.is_not(None)
            )
        )
    )
    red_flag_paused = patients_with_exercises_paused(ids)
    sessions = {
        (patient_id, day, item_id): done
        for patient_id, day, item_id, done in db.session.execute(
            db.select(ItemLog.patient_id, ItemLog.day, ItemLog.plan_item_id, ItemLog.sessions_done).where(
                ItemLog.patient_id.in_(ids), ItemLog.day.in_(days)
            )
        )
    }
    claimed = set(
        db.session.execute(
            db.select(PlanReminderSent.patient_id, PlanReminderSent.day, PlanReminderSent.slot).where(
                PlanReminderSent.patient_id.in_(ids), PlanReminderSent.day.in_(days)
            )
        ).all()
    )
    found = []
    for due, now in latest:
        patient_id = due.patient.id
        if (patient_id, due.day, due.slot) in claimed:
            continue
        today = [
            item
            for start, item in items.get(patient_id, [])
            if start <= due.day
            and item.is_due_on(due.day)
            and item.id not in coach_paused
            and not is_paused(item, patient_id in red_flag_paused)
        ]
        done = [
            None if not round_ else all(sessions.get((patient_id, due.day, item.id), 0) >= number for item in round_)
            for number, round_ in enumerate(round_items(today, due.rounds), start=1)
        ]
        if plan_slot_due(now, due.patient.plan_times, _quiet(due.patient), done) == due.slot:
            found.append(due)
    return found


# --- claims ---------------------------------------------------------------------------------------


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


# --- channels and messages ------------------------------------------------------------------------


def reminder_recipients(patient_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """For each of these patients, the (channel, recipient) pairs their reminders go to: one query per channel."""
    found: dict[int, list[tuple[str, str]]] = {}
    if not patient_ids:
        return found
    for name, channel in outbox.channels().items():
        if channel.reminder_recipients is None:
            continue
        for patient_id, recipients in channel.reminder_recipients(patient_ids).items():
            found.setdefault(patient_id, []).extend((name, recipient) for recipient in recipients)
    return found


def email_reminder_recipients(patient_ids: list[int]) -> dict[int, list[str]]:
    """The email channel's reminder recipients: each patient's address, unless they turned email reminders off."""
    rows = db.session.execute(
        db.select(User.id, User.email).where(User.id.in_(patient_ids), User.email_reminders.is_(True))
    )
    return {patient_id: [email] for patient_id, email in rows}


def _patient_page(endpoint: str) -> str:
    """``endpoint``, or the home page in an app built without the patient pages."""
    return endpoint if endpoint in current_app.view_functions else "auth.index"


def checkin_messages(patient: User, to: list[tuple[str, str]]) -> list[OutboundMessage]:
    """Queue the check-in reminder on each (channel, recipient): a nudge and a link, nothing about health."""
    with force_locale(supported_language(patient.language)):
        link = mail.public_url(_patient_page("patients.checkin"))
        body = _(
            "Hello %(name)s,\n\n"
            "This is your daily reminder to check in on Holistiq Coach. It takes about a minute\n"
            "and helps your coach adjust your home plan:\n\n"
            "%(link)s\n\n"
            "You can change the reminder time, or turn it off, under Your account:\n"
            "%(account)s\n",
            name=first_name(patient),
            link=link,
            account=mail.public_url("auth.account"),
        )
        email = (_("Your daily check-in on Holistiq Coach"), body)
        return _queue_all(to, email, _("How is your back today? Check in when you can"), link)


def plan_messages(due: PlanDue, to: list[tuple[str, str]]) -> list[OutboundMessage]:
    """Queue the plan reminder on each (channel, recipient): which round (email) and a link, nothing about health."""
    patient = due.patient
    with force_locale(supported_language(patient.language)):
        link = mail.public_url(_patient_page("patients.today"))
        body = _(
            "Hello %(name)s,\n\n"
            "It is time for round %(round)s of %(rounds)s of your home plan today:\n\n"
            "%(link)s\n\n"
            "You can change these times, or turn these reminders off, under Your account:\n"
            "%(account)s\n",
            name=first_name(patient),
            round=due.slot + 1,
            rounds=due.rounds,
            link=link,
            account=mail.public_url("auth.account"),
        )
        return _queue_all(to, (_("Time for your home plan"), body), _("Time for your back plan"), link)


def _queue_all(to: list[tuple[str, str]], email: tuple[str, str], line: str, link: str) -> list[OutboundMessage]:
    """One row per (channel, recipient), in the caller's locale: the email's (subject, body); a text carries the
    line and its link in the body; any other channel (push) gets the line as the body, the link beside it."""
    queued = []
    for channel, recipient in to:
        if channel == "email":
            subject, body = email
        elif channel == "text":
            subject, body = "", _("Holistiq Coach: %(line)s. %(link)s", line=line, link=link)
        else:
            subject, body = _("Holistiq Coach"), line
        message = outbox.message_class(channel)(recipient=recipient, subject=subject[:200], body=body, link=link)
        db.session.add(message)
        queued.append(message)
    return queued


# --- a round of the job -----------------------------------------------------------------------------


def _commit_and_send(queued: list[OutboundMessage]) -> int:
    """Commit the claims and their messages in one transaction (a crash before it sends nothing and claims
    nothing; after it, unsent messages wait in the outbox), then send them now, channel by channel: a channel
    that fails is not tried again this round (the worker's `outbox` job sends the rest). Returns how many went out."""
    channels = [message.channel for message in queued]  # read before the commit expires the rows
    db.session.commit()
    failing: set[str] = set()
    sent = 0
    for message, channel in zip(queued, channels, strict=True):
        if channel in failing:
            continue
        if outbox.send_now(message):
            sent += 1
        else:
            failing.add(channel)
    return sent


def send_reminders(now_utc: datetime | None = None) -> int:
    """Claim, queue and send today's due check-in reminders; returns how many reminders were claimed and queued."""
    dues = due_reminders(now_utc)
    to = reminder_recipients([due.patient.id for due in dues])
    dues = [due for due in dues if to.get(due.patient.id)]  # no channel on: nothing to claim
    won = claim(dues) if dues else set()
    mine = [due for due in dues if due.patient.id in won]
    queued = [message for due in mine for message in checkin_messages(due.patient, to[due.patient.id])]
    delivered = _commit_and_send(queued)
    log.info("Reminders: %d queued, %d delivered now", len(queued), delivered)
    return len(mine)


def send_plan_reminders(now_utc: datetime | None = None) -> int:
    """Claim and queue the plan reminders due now (one commit), then send them; returns how many reminders."""
    dues = due_plan_reminders(now_utc)
    to = reminder_recipients([due.patient.id for due in dues])
    dues = [due for due in dues if to.get(due.patient.id)]
    won = claim_plan_reminders(dues)
    mine = [due for due in dues if (due.patient.id, due.slot) in won]
    queued = [message for due in mine for message in plan_messages(due, to[due.patient.id])]
    _commit_and_send(queued)
    log.info("Plan reminders: %d queued", len(queued))
    return len(mine)


def send_all_reminders(now_utc: datetime | None = None) -> int:
    """Both kinds, as `flask reminders send` and the worker run them."""
    return send_reminders(now_utc) + send_plan_reminders(now_utc)
