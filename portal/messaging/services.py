"""Secure messages between a patient and their coach.

A thread belongs to a patient (``Message.patient_id``), not to a pair of users:
when an admin reassigns a patient, the new coach sees the whole history and
the patient keeps one conversation. "Unread" is therefore worked out from the
thread's direction — a message the patient sent is unread for whoever coaches
them now, a message staff sent is unread for the patient — rather than from
``recipient_id``, which only records who was coaching at the time.

Services add to the session; the view commits, then hands the returned emails
to ``deliver_after_commit`` (a failing mail server never breaks the page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Integer, and_, bindparam, case, cast, func, update
from sqlalchemy.orm import aliased

from portal import mail, outbox, push
from portal.auth.models import Role, User
from portal.extensions import db
from portal.i18n import force_locale, supported_language
from portal.mail import OutboundEmail
from portal.messaging.models import Message
from portal.pagination import paginate_rows
from portal.sqlutil import PATIENT_IDS, KeptStatement
from portal.timeutil import utcnow


class MessagingError(Exception):
    """A message that cannot be sent, with a sentence to show the user."""


def _unread_for(reader: User):
    """SQL condition: a message in ``reader``'s threads that ``reader`` has not read."""
    return _unread_condition(reader.role, reader.id)


def _unread_condition(role: str, reader_id=None):
    """The one unread rule, from the thread's direction: for a patient (``reader_id``), what
    anyone else wrote in their own thread; for staff, what the thread's patient wrote."""
    if role == Role.PATIENT:
        return and_(Message.patient_id == reader_id, Message.sender_id != reader_id, Message.read_at.is_(None))
    return and_(Message.sender_id == Message.patient_id, Message.read_at.is_(None))


def _unread_in_thread(patient: User, reader: User):
    """SQL condition: a message of ``patient``'s thread that ``reader`` has not read."""
    return and_(Message.patient_id == patient.id, _unread_for(reader))


def unread_count_statement(role: str):
    """The COUNT of a reader's unread messages (the "Messages" badge, see navigation.register_badge),
    the reader's id bound as ``user_id``; None for a role without messages."""
    reader = bindparam("user_id")
    if role == Role.PATIENT:
        return db.select(func.count(Message.id)).where(_unread_condition(role, reader))
    if role != Role.COACH:
        return None
    # Counted thread by thread, through the partial index of unread messages: joined instead, the
    # database would read every unread message of the practice to keep the coach's.
    patient = aliased(User)
    per_thread = (
        db.select(func.count(Message.id))
        .where(Message.patient_id == patient.id, _unread_condition(role, reader))
        .correlate(patient)
        .scalar_subquery()
    )
    return db.select(cast(func.coalesce(func.sum(per_thread), 0), Integer)).where(
        patient.coach_id == reader, patient.is_active.is_(True)
    )


_unread_count = KeptStatement(unread_count_statement, variants=[(role,) for role in Role])


def unread_count(user: User) -> int:
    """Unread messages for the nav badge: one COUNT."""
    stmt = _unread_count(user.role)
    return 0 if stmt is None else db.session.scalar(stmt, {"user_id": user.id}) or 0


# The roster and the patient page run these on every visit: kept, values bound per request.
def _build_unread_by_patient():
    return (
        db.select(Message.patient_id, func.count(Message.id))
        .where(Message.patient_id.in_(PATIENT_IDS), _unread_condition(Role.COACH))
        .group_by(Message.patient_id)
    )


_unread_by_patient = KeptStatement(_build_unread_by_patient)


def unread_by_patient(patient_ids: list[int]) -> dict[int, int]:
    """{patient id: messages from that patient not yet read by their coach}, one grouped query."""
    if not patient_ids:
        return {}
    rows = db.session.execute(_unread_by_patient(), {"patient_ids": patient_ids})
    return {patient_id: count for patient_id, count in rows}


def _build_recent_messages():
    return (
        db.select(Message)
        .where(Message.patient_id == bindparam("patient_id"))
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(bindparam("limit"))
    )


_recent_messages = KeptStatement(_build_recent_messages)


def thread_page(patient: User, page: int = 1, per_page: int = 30):
    """A page of the thread, newest page first; ``items`` are in reading order (oldest first)."""
    pagination = db.paginate(
        db.select(Message).where(Message.patient_id == patient.id).order_by(Message.sent_at.desc(), Message.id.desc()),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    pagination.items = list(reversed(pagination.items))
    return pagination


def recent_messages(patient: User, limit: int = 3) -> list[Message]:
    """The last few messages of a thread, oldest first (for the coach's patient page)."""
    rows = db.session.scalars(_recent_messages(), {"patient_id": patient.id, "limit": limit}).all()
    return list(reversed(rows))


def mark_read(patient: User, reader: User, now: datetime | None = None) -> int:
    """Set read_at on what ``reader`` has not read yet in this thread (one UPDATE); returns how many."""
    result = db.session.execute(
        update(Message)
        .where(_unread_in_thread(patient, reader))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def send_message(sender: User, patient: User, body: str) -> tuple[Message, OutboundEmail | None]:
    """Add a message to the patient's thread; returns it and the notification email, if any.

    The caller has already checked that ``sender`` may write in this thread.
    """
    if sender.role == Role.PATIENT:
        recipient = patient.coach
        if recipient is None or not recipient.is_active:
            raise MessagingError(_("You do not have a coach assigned yet. Please call your clinic."))
    else:
        recipient = patient
    # Notify only when the recipient has nothing unread from this thread already:
    # five quick messages make one email, not five.
    already_waiting = db.session.scalar(db.select(func.count(Message.id)).where(_unread_in_thread(patient, recipient)))
    # Answering shows the sender has seen the other side's messages.
    mark_read(patient, sender)
    message = Message(patient_id=patient.id, sender_id=sender.id, recipient_id=recipient.id, body=body)
    db.session.add(message)
    email = None
    if not already_waiting and recipient.is_active and recipient.email_notifications:
        email = queue_notification(recipient)
    if not already_waiting and recipient.is_active and recipient.push_messages:
        queue_push_notification(recipient)  # the worker's outbox round sends it
    return message, email


def queue_notification(recipient: User) -> OutboundEmail:
    """The new-message email: no message text, no names of patients, no health data."""
    # Written in the recipient's language, whoever sent the message.
    with force_locale(supported_language(recipient.language)):
        if recipient.role == Role.PATIENT:
            link = mail.public_url("messaging.patient_thread")
            body = _(
                "Hello %(name)s,\n\n"
                "You have a new message from your health coach on Holistiq Coach.\n"
                "For your privacy, messages are only shown in the portal. Sign in to read it:\n\n"
                "%(link)s\n\n"
                "You can turn these emails off under Your account > Notifications:\n"
                "%(account)s\n",
                name=first_name(recipient),
                link=link,
                account=mail.public_url("auth.account"),
            )
        else:
            link = mail.public_url("messaging.coach_inbox")
            body = _(
                "Hello %(name)s,\n\n"
                "You have a new message from one of your patients on Holistiq Coach.\n"
                "For your privacy, messages are only shown in the portal. Sign in to read it:\n\n"
                "%(link)s\n\n"
                "You can turn these emails off under Your account > Notifications:\n"
                "%(account)s\n",
                name=first_name(recipient),
                link=link,
                account=mail.public_url("auth.account"),
            )
        return mail.queue_email(recipient.email, _("You have a new message on Holistiq Coach"), body)


def queue_push_notification(recipient: User) -> list:
    """The new-message notification on the recipient's phones: who it is from in general words, never the text."""
    with force_locale(supported_language(recipient.language)):
        if recipient.role == Role.PATIENT:
            body, link = _("You have a new message from your coach"), mail.public_url("messaging.patient_thread")
        else:
            body, link = _("You have a new message from a patient"), mail.public_url("messaging.coach_inbox")
        return push.notify(recipient.id, "Holistiq Coach", body, link)


def first_name(user: User) -> str:
    """How an email greets the user: their first name, else "there"."""
    return user.name.split()[0] if user.name.strip() else _("there")


def deliver_after_commit(*emails: OutboundEmail | None) -> None:
    """Try to send emails the caller has committed; failures stay queued for `flask mail retry`."""
    for email in emails:
        if email is not None:
            outbox.send_now(email)


@dataclass(frozen=True)
class InboxRow:
    patient: User
    unread: int
    last_at: datetime | None
    last_preview: str
    last_sender: str  # "" when the patient wrote last, "You" for this coach, else the other staff member's name


def coach_inbox_page(coach: User, page: int = 1, per_page: int = 25):
    """One row per roster patient: unread threads first, then latest activity.

    Three statements whatever the roster size: the page count, the page of
    patients with their unread count and last message time (grouped), and the
    last message of each patient on the page.
    """
    roster = db.select(User.id).where(User.coach_id == coach.id)
    per_thread = (
        db.select(
            Message.patient_id,
            func.count(case((_unread_for(coach), Message.id))).label("unread"),
            func.max(Message.sent_at).label("last_at"),
        )
        .where(Message.patient_id.in_(roster))
        .group_by(Message.patient_id)
        .subquery()
    )
    unread = func.coalesce(per_thread.c.unread, 0)
    stmt = (
        db.select(User, unread, per_thread.c.last_at)
        .outerjoin(per_thread, per_thread.c.patient_id == User.id)
        .where(User.coach_id == coach.id, User.role == Role.PATIENT, User.is_active.is_(True))
        .order_by(unread.desc(), per_thread.c.last_at.desc().nulls_last(), User.name, User.id)
    )
    result = paginate_rows(stmt, page, per_page)
    page_rows = result.items
    ids = [row[0].id for row in page_rows]
    last_messages = {}
    if ids:
        newest = (
            db.select(func.max(Message.id)).where(Message.patient_id.in_(ids)).group_by(Message.patient_id)
        ).scalar_subquery()
        for message in db.session.scalars(db.select(Message).where(Message.id.in_(newest))):
            last_messages[message.patient_id] = message
    rows = []
    for patient, unread_n, last in page_rows:
        message = last_messages.get(patient.id)
        preview = ""
        if message is not None:
            preview = " ".join(message.body.split())
            preview = preview if len(preview) <= 90 else preview[:87].rstrip() + "…"
        sender = ""
        if message is not None and message.sender_id != patient.id:
            sender = _("You") if message.sender_id == coach.id else message.sender.name
        rows.append(
            InboxRow(patient=patient, unread=unread_n or 0, last_at=last, last_preview=preview, last_sender=sender)
        )
    result.items = rows
    return result
