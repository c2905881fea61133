"""Secure patient-coach messages and the reminder ledger."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow

MAX_MESSAGE_LENGTH = 2000


class Message(db.Model):
    __tablename__ = "message"
    __table_args__ = (
        # A thread is keyed by its patient, so a reassigned patient's history stays whole.
        Index("ix_message_patient_sent", "patient_id", "sent_at"),
        Index("ix_message_recipient_unread", "recipient_id", "read_at"),
        # Unread badges count only unread messages: a partial index holds just those, so
        # the count stays an index probe however long the threads grow.
        Index(
            "ix_message_unread_by_patient",
            "patient_id",
            postgresql_where=text("read_at IS NULL"),
            sqlite_where=text("read_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    sender = relationship("User", foreign_keys=[sender_id], lazy="joined")


class ReminderSent(db.Model):
    """One row per patient per local day: the unique key makes reminders at-most-once."""

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("patient_id", "day", name="uq_reminder_patient_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    day: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient = relationship("User")


class PlanReminderSent(db.Model):
    """One row per patient, local day and time of day (its place in ``User.plan_times``): the
    unique key makes each plan reminder at-most-once, whatever number of workers run."""

    __tablename__ = "plan_reminder_sent"
    __table_args__ = (UniqueConstraint("patient_id", "day", "slot", name="uq_plan_reminder_patient_day_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    day: Mapped[date]
    slot: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
