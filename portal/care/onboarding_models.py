"""What the portal learns about a patient before coaching starts: consent, the intake, and their own goals.

- ``ConsentText``: the coaching agreement and the privacy notice of a clinic, one row per
  document, language and published version (a version is published for both documents in
  both languages at once, so one number names what a patient agreed to).
- ``Consent``: one document a patient agreed to, with the version, time, IP and language.
- ``Intake``: the answers of "About your back" (one row per patient, kept between visits).
- ``Goal`` + ``GoalRating``: the Patient-Specific Functional Scale, activities in the patient's
  own words, each rated 0 (unable to do) to 10 (able to do as before the problem).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow


class ConsentText(db.Model):
    __tablename__ = "consent_text"
    __table_args__ = (
        UniqueConstraint("clinic_id", "version", "kind", "locale", name="uq_consent_text_clinic_version_kind_locale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))  # portal.care.consent.KINDS
    locale: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class Consent(db.Model):
    __tablename__ = "consent"
    __table_args__ = (
        UniqueConstraint("patient_id", "clinic_id", "kind", "version", name="uq_consent_patient_clinic_kind_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    language: Mapped[str] = mapped_column(String(8))
    given_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str] = mapped_column(String(64), default="")

    clinic = relationship("Clinic")


class Intake(db.Model):
    """The patient's "About your back" answers: saved step by step, finished once the last step is sent."""

    __tablename__ = "intake"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    # Question name -> answer (choice codes, lists of codes, free text, numbers); see portal.care.intake.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    steps_done: Mapped[int] = mapped_column(default=0)  # the highest step saved
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
    finished_on: Mapped[date | None]  # the patient's local day of finishing, as the roster shows it


class Goal(db.Model):
    """One activity the patient finds hard because of their back (PSFS), in their own words."""

    __tablename__ = "goal"
    __table_args__ = (Index("ix_goal_patient_retired", "patient_id", "retired_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    activity: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]

    ratings: Mapped[list[GoalRating]] = relationship(
        back_populates="goal", order_by="GoalRating.day", cascade="all, delete-orphan"
    )


class GoalRating(db.Model):
    __tablename__ = "goal_rating"
    __table_args__ = (
        UniqueConstraint("goal_id", "day", name="uq_goal_rating_goal_day"),
        Index("ix_goal_rating_patient_day", "patient_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    day: Mapped[date]  # the patient's local day of the rating
    score: Mapped[int]  # 0 = unable to do, 10 = able to do as before the problem
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    goal: Mapped[Goal] = relationship(back_populates="ratings")
