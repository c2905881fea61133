"""The care records: programs (templates), plans and their items, item logs, check-ins, weekly outcomes and alerts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.care import checkin_weeks
from portal.care.red_flags import TIER_RULES, Tier, answered_yes, highest_tier, tier_rule
from portal.extensions import db
from portal.timeutil import utcnow

ALL_WEEKDAYS = "0123456"  # Monday=0 ... Sunday=6, stored as a string of digits


class Dosage:
    """Columns shared by program items and plan items."""

    sets: Mapped[int | None]
    reps: Mapped[int | None]
    hold_seconds: Mapped[int | None]
    times_per_day: Mapped[int] = mapped_column(default=1)
    weekdays: Mapped[str] = mapped_column(String(7), default=ALL_WEEKDAYS)
    position: Mapped[int] = mapped_column(default=0)

    @property
    def weekday_numbers(self) -> list[int]:
        return [int(ch) for ch in self.weekdays]

    def is_due_on(self, day: date) -> bool:
        return str(day.weekday()) in self.weekdays


class Program(db.Model):
    __tablename__ = "program"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str | None] = mapped_column(String(80), unique=True)  # set for starter programs
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner = relationship("User")
    items: Mapped[list[ProgramItem]] = relationship(
        back_populates="program", order_by="ProgramItem.position", cascade="all, delete-orphan"
    )


class ProgramTranslation(db.Model):
    """A program's name and description in another language; the English lives on the program."""

    __tablename__ = "program_translation"
    __table_args__ = (UniqueConstraint("program_id", "locale", name="uq_program_translation_program_locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProgramItem(Dosage, db.Model):
    __tablename__ = "program_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id", ondelete="CASCADE"), index=True)
    library_item_id: Mapped[int] = mapped_column(ForeignKey("library_item.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")

    program: Mapped[Program] = relationship(back_populates="items")
    library_item = relationship("LibraryItem", lazy="joined")


class PlanStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class Plan(db.Model):
    __tablename__ = "plan"
    __table_args__ = (Index("ix_plan_patient_status", "patient_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"))
    title: Mapped[str] = mapped_column(String(120))
    goals: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default=PlanStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic locking: a save carrying an older version is refused.
    version: Mapped[int] = mapped_column(default=1)
    # 1 while the plan is active, NULL once ended: the unique index on (patient, active_key)
    # keeps "one active plan per patient" true even when two coaches assign at once.
    active_key: Mapped[int | None] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    patient = relationship("User", foreign_keys=[patient_id])
    coach = relationship("User", foreign_keys=[coach_id])
    items: Mapped[list[PlanItem]] = relationship(
        back_populates="plan", order_by="PlanItem.position", cascade="all, delete-orphan"
    )


class PlanItem(Dosage, db.Model):
    __tablename__ = "plan_item"
    __table_args__ = (Index("ix_plan_item_plan_active_pos", "plan_id", "is_active", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    library_item_id: Mapped[int] = mapped_column(ForeignKey("library_item.id"), index=True)
    coach_note: Mapped[str] = mapped_column(Text, default="")
    # Removed items stay (inactive) so their completion history keeps its meaning.
    is_active: Mapped[bool] = mapped_column(default=True)

    plan: Mapped[Plan] = relationship(back_populates="items")
    library_item = relationship("LibraryItem", lazy="joined")
    # The pause in force, if any (at most one: see PlanItemPause.open_key). Pages that show
    # many items load it with the plan (``portal.care.plans.active_plan``), not one by one.
    open_pause: Mapped[PlanItemPause | None] = relationship(
        primaryjoin="and_(PlanItemPause.plan_item_id == PlanItem.id, PlanItemPause.open_key == 1)",
        viewonly=True,
        uselist=False,
    )
    # Every dose and schedule the item has had, by the days each was in force (see
    # portal.care.schedules); the columns above hold the one in force now.
    schedules: Mapped[list[PlanItemSchedule]] = relationship(
        order_by="PlanItemSchedule.valid_from", cascade="all, delete-orphan"
    )


class PlanItemSchedule(db.Model):
    """The dose and days a plan item asked for over a run of the patient's local days,
    ``valid_from`` up to (not including) ``valid_to``; open-ended (NULL) for the one in force.

    An item's rows never overlap: a change closes the open row on the patient's local day of
    the change and opens the next one from that day. The first row starts on the day the item
    joined the plan (the plan's start for the items it was assigned with); removing the item
    or ending its plan closes the last one. Adherence counts each day against the row in force
    that day, so changes never rewrite past figures. ``patient_id`` is the plan's patient,
    copied so a page of patients reads their rows by one index.
    """

    __tablename__ = "plan_item_schedule"
    __table_args__ = (
        Index("ix_plan_item_schedule_patient_from", "patient_id", "valid_from"),
        Index("ix_plan_item_schedule_item_from", "plan_item_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_item_id: Mapped[int] = mapped_column(ForeignKey("plan_item.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    sets: Mapped[int | None]
    reps: Mapped[int | None]
    hold_seconds: Mapped[int | None]
    times_per_day: Mapped[int] = mapped_column(default=1)
    weekdays: Mapped[str] = mapped_column(String(7), default=ALL_WEEKDAYS)


class PlanChangeKind(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    PAUSE = "pause"
    RESUME = "resume"
    DOSE = "dose"


class PlanChange(db.Model):
    """One change a coach made to a plan item, kept to tell the patient in words on Today
    ("What changed in your plan") until they dismiss it or for a week.

    ``before`` and ``after`` hold the changed dose fields (``dose``) or the new item's dose
    (``add``); ``note`` is the coach's note for the item (or the reason of a pause). Stored
    as data, not text, so the patient reads it in their language."""

    __tablename__ = "plan_change"
    __table_args__ = (Index("ix_plan_change_patient_created", "patient_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    plan_item_id: Mapped[int] = mapped_column(ForeignKey("plan_item.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dismissed_at: Mapped[datetime | None]

    plan_item: Mapped[PlanItem] = relationship()


class PlanItemPause(db.Model):
    """One period during which a coach paused a plan item, with the reason the patient is shown.

    Days are the patient's local days: the item is paused from ``started_on`` and due again
    from ``ended_on`` (so a pause and a resume on the same day pause no whole day). Periods
    are kept after the resume, so adherence of past weeks stays right and the history stays.
    """

    __tablename__ = "plan_item_pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_item_id: Mapped[int] = mapped_column(ForeignKey("plan_item.id", ondelete="CASCADE"))
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    reason: Mapped[str] = mapped_column(String(200))
    paused_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resumed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    # 1 while the pause is in force, NULL once resumed: the unique index on (item, open_key)
    # keeps "one pause at a time per item" true even when two requests pause at once.
    open_key: Mapped[int | None] = mapped_column(default=1)

    # Joined: the coach's page names who paused each item, in the plan's one statement.
    paused_by = relationship("User", foreign_keys=[paused_by_id], lazy="joined")
    resumed_by = relationship("User", foreign_keys=[resumed_by_id])

    def covers(self, day: date) -> bool:
        """Whether the item is paused on the patient's local ``day``."""
        return self.started_on <= day and (self.ended_on is None or day < self.ended_on)


class CheckIn(db.Model):
    __tablename__ = "checkin"
    __table_args__ = (
        UniqueConstraint("patient_id", "day", name="uq_checkin_patient_day"),
        # With the pain: the Outcomes figures read every patient's pain by week from the index alone.
        Index("ix_checkin_patient_day_pain", "patient_id", "day", "pain"),
    )

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
    rf_leg_weakness: Mapped[bool] = mapped_column(default=False, server_default=false())
    rf_fever: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    patient = relationship("User")

    @property
    def has_red_flag(self) -> bool:
        return bool(answered_yes(self))

    @property
    def red_flag_tier(self) -> Tier | None:
        """The highest tier among the red flags answered "yes" (None without one)."""
        return highest_tier(self)


class CheckInWeek(db.Model):
    """A patient's check-ins summed per week since their start (week 0: the first plan's first 7
    days), kept by database triggers on check-ins and plans (portal.care.checkin_weeks); the
    Outcomes pain chart reads it."""

    __tablename__ = "checkin_week"

    patient_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    week: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    pain_sum: Mapped[int]
    pain_n: Mapped[int]
    last_day: Mapped[date]  # the latest check-in of the week


class ItemLog(db.Model):
    __tablename__ = "item_log"
    __table_args__ = (
        UniqueConstraint("plan_item_id", "day", name="uq_item_log_item_day"),
        # With the item and the sessions done: a report over many patients reads a window's logs
        # from the index alone (portal.care.adherence_sql).
        Index("ix_item_log_patient_day", "patient_id", "day", "plan_item_id", "sessions_done"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_item_id: Mapped[int] = mapped_column(ForeignKey("plan_item.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    day: Mapped[date]
    # ``done`` is "done for the day" (every session of the day logged), kept in step with
    # ``sessions_done`` by portal.care.today, the only writer, so day-level reads stay one
    # indexed column; ``sessions_done`` is what adherence counts.
    done: Mapped[bool] = mapped_column(default=True)
    sessions_done: Mapped[int] = mapped_column(default=1, server_default="1")
    pain_during: Mapped[int | None]
    note: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def peg_score(pain_average: int, enjoyment_interference: int, activity_interference: int) -> float:
    """The PEG score: the mean of its three 0-10 answers, to one decimal."""
    return round((pain_average + enjoyment_interference + activity_interference) / 3, 1)


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
    # When the answers were last given (a correction the same week moves it): the FHIR ``authored``.
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def score(self) -> float:
        return peg_score(self.pain_average, self.enjoyment_interference, self.activity_interference)


class AlertKind(StrEnum):
    RED_FLAG = "red_flag"
    PAIN_WORSENING = "pain_worsening"
    MISSED_CHECKINS = "missed_checkins"


# Lower sorts first: most urgent at the top of the inbox. A red flag's number is its tier's (Emergency 0,
# Urgent 1, Attention 2), every red flag before the other kinds.
RED_FLAG_SEVERITY = {tier: len(TIER_RULES) - rule.rank for tier, rule in TIER_RULES.items()}
ALERT_SEVERITY = {
    AlertKind.RED_FLAG: RED_FLAG_SEVERITY[Tier.TODAY],  # a red flag opened without a tier
    AlertKind.PAIN_WORSENING: len(TIER_RULES),
    AlertKind.MISSED_CHECKINS: len(TIER_RULES) + 1,
}
LEAST_URGENT_RED_FLAG = max(RED_FLAG_SEVERITY.values())


def alert_severity(kind: str, tier: Tier | str | None = None) -> int:
    """The sort number of an alert of ``kind`` (and, for a red flag, ``tier``): lower is more urgent."""
    if kind == AlertKind.RED_FLAG and tier:
        return RED_FLAG_SEVERITY[Tier(tier)]
    return ALERT_SEVERITY[AlertKind(kind)]


ALERT_LABELS = {
    AlertKind.RED_FLAG: _l("Red flag"),
    AlertKind.PAIN_WORSENING: _l("Pain worsening"),
    AlertKind.MISSED_CHECKINS: _l("Missed check-ins"),
}


class Alert(db.Model):
    __tablename__ = "alert"
    __table_args__ = (
        Index("ix_alert_patient_kind_open", "patient_id", "kind", "resolved_at"),
        Index("ix_alert_open_severity", "resolved_at", "severity", "opened_at"),
        # Escalated alerts are few: every coach page counts the clinic's open ones through this.
        Index("ix_alert_escalated", "escalated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(default=2)  # alert_severity(): the inbox's order
    # A red flag's tier (portal.care.red_flags.Tier: emergency, today, soon), NULL for other kinds; it only rises
    # while the alert is open (the highest tier reported since it opened wins).
    tier: Mapped[str | None] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(String(300), default="")
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set while open, NULL once resolved: a unique index on (patient, kind, open_key)
    # makes "never two open alerts of one kind" hold even under concurrent writers.
    open_key: Mapped[int | None] = mapped_column(default=1)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolved_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")
    # When the red flag took its tier (it opened, or a later check-in raised it): escalation counts from here.
    tier_at: Mapped[datetime | None]
    # "I have seen this and I am contacting the patient": who and when (cleared when the tier rises).
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Nobody acknowledged it in time: the clinic's on-call contacts and admins were emailed (set once, atomically).
    escalated_at: Mapped[datetime | None]
    # Resolved with "resume the exercises": the patient is told on Today until they dismiss it.
    resumed_on_resolve: Mapped[bool] = mapped_column(default=False, server_default=false())
    resume_notice_dismissed_at: Mapped[datetime | None]
    # A red flag pauses the patient's exercises from the moment it opens; the pause
    # outlives the alert until a coach resumes them (when resolving, or later).
    exercises_paused: Mapped[bool] = mapped_column(default=False, server_default=false())

    patient = relationship("User", foreign_keys=[patient_id])
    resolved_by = relationship("User", foreign_keys=[resolved_by_id])
    # Joined: every page that shows an open alert names who acknowledged it.
    acknowledged_by = relationship("User", foreign_keys=[acknowledged_by_id], lazy="joined")
    # The check-in that raised it (the latest, for an open red flag): its day is the alert's
    # date and its notes are the patient's own words on the alert card. Pages load it with the alert.
    checkin = relationship("CheckIn", foreign_keys=[checkin_id])

    @property
    def kind_label(self) -> str:
        return str(ALERT_LABELS.get(self.kind, self.kind))

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def severity_name(self) -> str | None:
        """A red flag's severity word ("Emergency", "Urgent", "Attention"), fixed English for the API and exports."""
        rule = tier_rule(self.tier)
        return rule.severity if rule else None

    @property
    def severity_label(self) -> str | None:
        """The same severity word, translated, for the pages."""
        rule = tier_rule(self.tier)
        return str(rule.severity_label) if rule else None


Index("uq_alert_one_open_per_kind", Alert.patient_id, Alert.kind, Alert.open_key, unique=True)
Index("uq_plan_one_active_per_patient", Plan.patient_id, Plan.active_key, unique=True)
Index("uq_plan_item_pause_one_open", PlanItemPause.plan_item_id, PlanItemPause.open_key, unique=True)

# The triggers that keep checkin_week, made with the tables by create_all (migrations make their own).
checkin_weeks.attach(db.metadata)
