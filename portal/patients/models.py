"""Patients' daily check-ins, item completion logs and weekly outcome scores."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow

RED_FLAG_FIELDS = (
    "rf_numbness",
    "rf_walking",
    "rf_bladder_bowel",
    "rf_fall_injury",
    "rf_activity_stopping",
)


class CheckIn(db.Model):
    __tablename__ = "checkin"
    __table_args__ = (UniqueConstraint("patient_id", "day", name="uq_checkin_patient_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    day: Mapped[date]  # the patient's local date
    pain: Mapped[int]  # 0-10 NPRS
    stiffness: Mapped[int]  # 0-10
    spasm_episodes: Mapped[int] = mapped_column(default=0)
    sleep_quality: Mapped[int | None]  # 1 (very poor) - 5 (very good)
    water_glasses: Mapped[int | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    rf_numbness: Mapped[bool] = mapped_column(default=False)
    rf_walking: Mapped[bool] = mapped_column(default=False)
    rf_bladder_bowel: Mapped[bool] = mapped_column(default=False)
    rf_fall_injury: Mapped[bool] = mapped_column(default=False)
    rf_activity_stopping: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    patient = relationship("User")

    @property
    def has_red_flag(self) -> bool:
        return any(getattr(self, name) for name in RED_FLAG_FIELDS)


class ItemLog(db.Model):
    __tablename__ = "item_log"
    __table_args__ = (
        UniqueConstraint("plan_item_id", "day", name="uq_item_log_item_day"),
        Index("ix_item_log_patient_day", "patient_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_item_id: Mapped[int] = mapped_column(ForeignKey("plan_item.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    day: Mapped[date]
    done: Mapped[bool] = mapped_column(default=True)
    pain_during: Mapped[int | None]
    note: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WeeklyOutcome(db.Model):
    """The PEG scale: average Pain, interference with Enjoyment and General activity."""

    __tablename__ = "weekly_outcome"
    __table_args__ = (UniqueConstraint("patient_id", "week_start", name="uq_outcome_patient_week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    week_start: Mapped[date]  # Monday of the patient's local week
    pain_average: Mapped[int]
    enjoyment_interference: Mapped[int]
    activity_interference: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def score(self) -> float:
        return round((self.pain_average + self.enjoyment_interference + self.activity_interference) / 3, 1)
