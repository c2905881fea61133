"""Alert rules and the alert lifecycle (open, count, resolve).

Rules, precisely:

* **Red flag**: a saved check-in with any red-flag answer "yes". Its tier is the highest tier answered
  (``portal.care.red_flags``); while it is open a later check-in only raises its tier, never lowers it.
* **Pain worsening**: evaluated when a check-in for day D is saved. The recent
  window is D-2..D (3 local days), the baseline window is D-9..D-3 (the 7 days
  before). With at least 2 check-ins in the recent window and at least 3 in the
  baseline, an alert opens when avg(recent pain) - avg(baseline pain) >= 2.
  The comparison is done on integer sums, so exactly 2.0 counts and 1.99 does not.
* **Pain jump**: evaluated when a check-in for day D is saved. With at least 3
  check-ins in D-7..D-1, an alert opens at once when that day's pain is at least
  3 points above their average (integer sums again: exactly 3.0 counts, 2.9 does
  not). It shares the pain-worsening kind, so it never duplicates an open one.
* **Missed check-ins**: evaluated by ``flask alerts scan``. For a patient with an
  active plan that started on or before T-3 (T = the patient's local today), an
  alert opens when there is no check-in on any of T-3, T-2, T-1 nor T, i.e. three
  whole days went by without one.

**Pause**: a red-flag alert of a tier that pauses (Emergency, Today) pauses the patient's
"Stretches & exercises" from the moment it opens (or rises to such a tier). Resolving it with "resume" ends the pause; resolving without
keeps the exercises paused until the coach resumes them. ``exercises_paused``
is the one definition, used by Today, marking an item done and the coach's pages.

At most one open alert of a kind per patient: the unique index on
(patient_id, kind, open_key) decides, so concurrent writers cannot duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, case, func, or_, union_all, update
from sqlalchemy.orm import aliased

from portal import audit, push
from portal.auth.models import Role, User
from portal.care.models import RED_FLAG_SEVERITY, Alert, AlertKind, CheckIn, Plan, PlanStatus, alert_severity
from portal.care.red_flags import TIER_RULES, Tier, answered_yes, highest_of
from portal.extensions import db
from portal.i18n import force_locale, supported_language
from portal.mail import public_url, queue_email
from portal.sqlutil import KeptStatement, insert_for
from portal.timeutil import as_local, local_today, utcnow

RECENT_DAYS = 3
BASELINE_DAYS = 7
MIN_RECENT = 2
MIN_BASELINE = 3
WORSENING_POINTS = 2
MISSED_DAYS = 3
JUMP_DAYS = 7
MIN_JUMP_BASELINE = 3
JUMP_POINTS = 3
MAX_NOTE = 2000


class AlertError(Exception):
    """An alert action that cannot be done (for example it was already resolved)."""


def open_alert(
    patient: User,
    kind: AlertKind,
    summary: str,
    checkin_id: int | None = None,
    *,
    notify: bool = True,
    tier: Tier | None = None,
) -> tuple[Alert, bool]:
    """Open an alert unless one of this kind is already open; returns (alert, created).

    A red flag takes ``tier`` (default Today: the tier every red flag had before tiers). INSERT ... ON CONFLICT
    DO NOTHING on the open-alert unique index makes this safe against a concurrent writer without aborting the
    caller's transaction.
    """
    if kind == AlertKind.RED_FLAG:
        tier = Tier(tier or Tier.TODAY)
    else:
        tier = None
    now = utcnow()
    db.session.flush()  # the statement below bypasses the ORM's autoflush
    result = db.session.connection().execute(
        insert_for(Alert)
        .values(
            patient_id=patient.id,
            kind=str(kind),
            severity=alert_severity(kind, tier),
            tier=str(tier) if tier else None,
            summary=summary[:300],
            checkin_id=checkin_id,
            opened_at=now,
            open_key=1,
            note="",
            exercises_paused=bool(tier and TIER_RULES[tier].pauses_exercises),
            tier_at=now if tier else None,
        )
        .on_conflict_do_nothing(index_elements=["patient_id", "kind", "open_key"])
        .returning(Alert.id)
    )
    created = result.first() is not None
    alert = db.session.scalar(
        db.select(Alert).where(Alert.patient_id == patient.id, Alert.kind == str(kind), Alert.open_key == 1)
    )
    if created and notify and kind == AlertKind.RED_FLAG:
        notify_red_flag(patient, tier)
    return alert, created


def raise_tier(alert: Alert, tier: Tier, *, notify: bool = True) -> bool:
    """Raise an open red-flag alert to ``tier`` when that is higher than its own; True when it rose.

    The alert takes the new tier's severity and, for a tier that pauses, pauses the exercises. It is a new report
    to act on: an earlier acknowledgement and escalation are cleared, and escalation counts from now. A conditional
    UPDATE, so two check-ins saved at once cannot lower a tier the other raised.
    """
    current = Tier(alert.tier) if alert.tier else Tier.TODAY
    if highest_of((current, tier)) == current:
        return False
    values = {
        "tier": str(tier),
        "severity": RED_FLAG_SEVERITY[tier],
        "tier_at": utcnow(),
        "acknowledged_at": None,
        "acknowledged_by_id": None,
        "escalated_at": None,
    }
    if TIER_RULES[tier].pauses_exercises:
        values["exercises_paused"] = True
    result = db.session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.open_key == 1, Alert.severity > RED_FLAG_SEVERITY[tier])
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(alert)
    if result.rowcount:
        audit.record("alert.raise_tier", alert, patient=alert.patient_id, tier=str(tier))
        if notify:
            notify_red_flag(alert.patient, tier)
    return bool(result.rowcount)


# The red-flag tiers a coach who turned alert notifications on is told about on their phone (Emergency, Urgent).
PUSHED_TIERS = (Tier.EMERGENCY, Tier.TODAY)


def notify_red_flag(patient: User, tier: Tier) -> None:
    """The emails a new red flag (or one raised to a higher tier) sends at once: the coach always, and for an
    Emergency the clinic's on-call contacts too. No health details in any of them."""
    _notify_coach(patient, tier)
    if tier == Tier.EMERGENCY and patient.clinic is not None:
        for contact in patient.clinic.on_call_contacts:
            queue_email(
                contact.email,
                _("Emergency safety alert at %(clinic)s", clinic=patient.clinic.name),
                _(
                    "A patient of %(clinic)s reported a symptom that needs emergency care, and was told to call 911.\n"
                    "You are one of the clinic's on-call contacts. Please make sure the patient's coach has seen it:\n"
                    "sign in to Holistiq Coach (%(link)s), or call the clinic at %(phone)s.",
                    clinic=patient.clinic.name,
                    link=public_url("auth.index"),
                    phone=patient.clinic.phone,
                ),
            )


def _notify_coach(patient: User, tier: Tier) -> None:
    """Tell the coach by email that a red-flag alert waits, with its severity (no health details in email), and by
    phone notification when they chose it."""
    coach = patient.coach
    if coach is None or not coach.is_active:
        return
    with force_locale(supported_language(coach.language)):
        if coach.email_notifications:
            queue_email(
                coach.email,
                _("%(severity)s alert waiting in Holistiq Coach", severity=TIER_RULES[tier].severity_label),
                _(
                    "One of your patients reported a red-flag symptom in today's check-in.\n"
                    "Please sign in to Holistiq Coach and open Alerts to review it."
                ),
            )
        # On the coach's phones, Emergency and Urgent only, in words that tell nothing about the patient.
        if coach.push_alerts and tier in PUSHED_TIERS:
            push.notify(
                coach.id,
                "Holistiq Coach",
                _("Urgent alert for a patient: open the portal"),
                public_url("coaching.alerts"),
                urgency="high",  # an Emergency or Urgent alert must not wait for the phone to wake
            )


def coach_language(patient: User) -> str:
    """The language the patient's coach reads alerts in (summaries are stored as written)."""
    return supported_language(patient.coach.language if patient.coach else None)


def alert_day(checkin_day: date | None, opened_at: datetime, tz_name: str | None) -> date:
    """An alert's date: the day of the check-in that raised it (the patient's local day), else
    the patient's local day when it opened (a missed-check-ins alert has no check-in)."""
    if checkin_day is not None:
        return checkin_day
    return as_local(opened_at, tz_name).date()


def red_flag_summary(checkin: CheckIn) -> str:
    answers = "; ".join(str(flag.label) for flag in answered_yes(checkin))
    return _("Reported: %(answers)s (check-in of %(day)s).", answers=answers, day=format_date(checkin.day, "MMM d"))


# The patient's pages, every check-in and the coach's patient page run the statements below:
# each is kept (built once per app), the patient and the days bound where the rule runs it.
# Both pain rules read one statement: every check-in asks both, and the three windows (recent,
# baseline, the jump's week) all lie in D-9..D.
def _build_pain_windows():
    in_recent = CheckIn.day >= bindparam("recent_from")
    in_week = and_(CheckIn.day >= bindparam("week_from"), CheckIn.day < bindparam("day"))
    return db.select(
        func.sum(case((in_recent, CheckIn.pain), else_=0)),
        func.sum(case((in_recent, 1), else_=0)),
        func.sum(case((in_recent, 0), else_=CheckIn.pain)),
        func.sum(case((in_recent, 0), else_=1)),
        func.sum(case((in_week, CheckIn.pain), else_=0)),
        func.sum(case((in_week, 1), else_=0)),
    ).where(
        CheckIn.patient_id == bindparam("patient_id"),
        CheckIn.day >= bindparam("baseline_from"),
        CheckIn.day <= bindparam("day"),
    )


_pain_windows = KeptStatement(_build_pain_windows)


@dataclass(frozen=True)
class PainWindows:
    """Sums and counts of pain around day D: recent D-2..D, baseline D-9..D-3, the jump's week D-7..D-1."""

    recent_sum: int
    recent_n: int
    base_sum: int
    base_n: int
    week_sum: int
    week_n: int


def pain_windows(patient_id: int, day: date) -> PainWindows:
    recent_from = day - timedelta(days=RECENT_DAYS - 1)  # the recent days, ``day`` included
    baseline_from = recent_from - timedelta(days=BASELINE_DAYS)  # the baseline days just before them
    row = db.session.execute(
        _pain_windows(),
        {
            "patient_id": patient_id,
            "recent_from": recent_from,
            "baseline_from": baseline_from,
            "week_from": day - timedelta(days=JUMP_DAYS),
            "day": day,
        },
    ).one()
    return PainWindows(*(int(v or 0) for v in row))


def worsening(patient_id: int, day: date, windows: PainWindows | None = None) -> tuple[float, float] | None:
    """(recent average, baseline average) when pain worsened by the rule above, else None.

    One query with conditional sums (none given ``windows``); no Python loop over check-ins.
    """
    w = windows or pain_windows(patient_id, day)
    if w.recent_n < MIN_RECENT or w.base_n < MIN_BASELINE:
        return None
    # recent_sum/recent_n - base_sum/base_n >= 2, without floating point.
    if w.recent_sum * w.base_n - w.base_sum * w.recent_n >= WORSENING_POINTS * w.recent_n * w.base_n:
        return w.recent_sum / w.recent_n, w.base_sum / w.base_n
    return None


def previous_week_pain(patient_id: int, day: date) -> tuple[int, int]:
    """(sum, count) of the patient's pain over the 7 days before ``day``: the jump rule's baseline."""
    w = pain_windows(patient_id, day)
    return w.week_sum, w.week_n


def pain_jump(patient_id: int, day: date, pain: int, windows: PainWindows | None = None) -> float | None:
    """The previous 7 days' average pain when ``pain`` jumped by the rule above, else None."""
    w = windows or pain_windows(patient_id, day)
    if w.week_n < MIN_JUMP_BASELINE:
        return None
    # pain - base_sum/base_n >= 3, without floating point.
    if pain * w.week_n - w.week_sum >= JUMP_POINTS * w.week_n:
        return w.week_sum / w.week_n
    return None


def report_red_flag(patient: User, tier: Tier, summary: str, checkin_id: int | None = None) -> tuple[Alert, bool]:
    """A red flag reported at ``tier`` (a check-in, or the intake's safety questions): opens the red-flag alert,
    or keeps the open one pointing at the latest answers, at the highest tier reported. (alert, created)."""
    alert, created = open_alert(patient, AlertKind.RED_FLAG, summary, checkin_id, tier=tier)
    if not created:
        alert.summary = summary[:300]
        if checkin_id is not None:
            alert.checkin_id = checkin_id
        raise_tier(alert, tier)
    return alert, created


def evaluate_checkin(patient: User, checkin: CheckIn) -> list[Alert]:
    """Open the alerts a just-saved check-in calls for; returns the newly opened ones."""
    with force_locale(coach_language(patient)):
        return _evaluate_checkin(patient, checkin)


def _evaluate_checkin(patient: User, checkin: CheckIn) -> list[Alert]:
    opened = []
    tier = checkin.red_flag_tier
    if tier is not None:
        alert, created = report_red_flag(patient, tier, red_flag_summary(checkin), checkin.id)
        if created:
            opened.append(alert)
    windows = pain_windows(patient.id, checkin.day)
    change = worsening(patient.id, checkin.day, windows)
    if change is not None:
        recent, baseline = change
        summary = _(
            "Pain averaged %(recent)s over the last 3 days, up from %(baseline)s the week before.",
            recent=format_decimal(recent, "0.0"),
            baseline=format_decimal(baseline, "0.0"),
        )
        alert, created = open_alert(patient, AlertKind.PAIN_WORSENING, summary, checkin.id)
        if created:
            opened.append(alert)
        return opened
    baseline = pain_jump(patient.id, checkin.day, checkin.pain, windows)
    if baseline is not None:
        summary = _(
            "pain %(pain)s, up from an average of %(baseline)s",
            pain=checkin.pain,
            baseline=format_decimal(baseline, "0.0"),
        )
        alert, created = open_alert(patient, AlertKind.PAIN_WORSENING, summary, checkin.id)
        if created:
            opened.append(alert)
    return opened


@dataclass(frozen=True)
class ScanResult:
    checked: int
    opened: int


def scan_missed_checkins() -> ScanResult:
    """Open missed-check-in alerts (idempotent: a second run opens nothing new).

    One query gets every active patient with an active plan, their earliest active
    plan start and their latest check-in day; the rule is then applied with each
    patient's own local "today".
    """
    last_checkin = (
        db.select(CheckIn.patient_id, func.max(CheckIn.day).label("last_day")).group_by(CheckIn.patient_id).subquery()
    )
    coach = aliased(User)
    rows = db.session.execute(
        db.select(User, func.min(Plan.start_date), last_checkin.c.last_day, coach.language)
        .join(Plan, Plan.patient_id == User.id)
        .outerjoin(last_checkin, last_checkin.c.patient_id == User.id)
        .outerjoin(coach, coach.id == User.coach_id)
        .where(User.role == Role.PATIENT, User.is_active.is_(True), Plan.status == PlanStatus.ACTIVE)
        .group_by(User.id, last_checkin.c.last_day, coach.language)
    ).all()
    today_by_tz: dict[str, date] = {}
    opened = 0
    for patient, plan_start, last_day, language in rows:
        today = today_by_tz.setdefault(patient.tz, local_today(patient.tz))
        if is_missed(today, plan_start, last_day):
            with force_locale(supported_language(language)):
                if last_day:
                    summary = _(
                        "No check-in for %(days)s days or more (since %(day)s).",
                        days=MISSED_DAYS,
                        day=format_date(last_day, "MMM d"),
                    )
                else:
                    summary = _("No check-in for %(days)s days or more (since the plan started).", days=MISSED_DAYS)
            _alert, created = open_alert(patient, AlertKind.MISSED_CHECKINS, summary)
            opened += int(created)
    return ScanResult(checked=len(rows), opened=opened)


def is_missed(today: date, plan_start: date, last_day: date | None) -> bool:
    """True when the 3 whole days before today (and today so far) have no check-in."""
    window_start = today - timedelta(days=MISSED_DAYS)
    if plan_start > window_start:
        return False  # the plan has not been active for three whole days yet
    return last_day is None or last_day < window_start


@dataclass(frozen=True)
class ResumeNotice:
    """The coach resolved a red flag and resumed the exercises: what the patient's Today tells them."""

    alert_id: int
    day: date  # the patient's local day of the resolve
    note: str
    by: str  # the coach's name


@dataclass(frozen=True)
class RedFlagState:
    """What the patient's pages show of their red flags: the open alert's tier (None when none is open), whether a
    red flag keeps the exercises paused, who acknowledged the open alert, and a resume notice not yet dismissed."""

    open_tier: Tier | None = None
    exercises_paused: bool = False
    acknowledged_by: str | None = None  # the name of whoever acknowledged the open alert
    acknowledged_by_coach: bool = False  # ... and whether that is the patient's own coach
    resume_notice: ResumeNotice | None = None

    @property
    def is_open(self) -> bool:
        return self.open_tier is not None


TIER_OF_SEVERITY = {severity: tier for tier, severity in RED_FLAG_SEVERITY.items()}


def _build_red_flag_status():
    """One row, whatever the patient's history: the open red flag's tier (as its severity number), whether a red
    flag pauses the exercises, who acknowledged the open one, and the resume notice not yet dismissed (at most one:
    a newer resume dismisses the older notice). A patient has at most one open red flag, so MAX picks its values."""
    is_open = Alert.open_key == 1
    pausing = Alert.exercises_paused.is_(True)
    notice = and_(Alert.resumed_on_resolve.is_(True), Alert.resume_notice_dismissed_at.is_(None))
    acknowledger, resolver = aliased(User), aliased(User)
    return (
        db.select(
            func.min(case((is_open, Alert.severity))),
            func.max(case((pausing, 1), else_=0)),
            func.max(case((is_open, Alert.acknowledged_by_id))),
            func.max(case((is_open, acknowledger.name))),
            func.max(case((notice, Alert.id))),
            func.max(case((notice, Alert.resolved_at))),
            func.max(case((notice, Alert.note))),
            func.max(case((notice, resolver.name))),
        )
        .select_from(Alert)
        .outerjoin(acknowledger, acknowledger.id == Alert.acknowledged_by_id)
        .outerjoin(resolver, resolver.id == Alert.resolved_by_id)
        .where(
            Alert.patient_id == bindparam("patient_id"),
            Alert.kind == str(AlertKind.RED_FLAG),
            or_(is_open, pausing, notice),
        )
    )


_red_flag_status = KeptStatement(_build_red_flag_status)
RED_FLAG_COLUMNS = 8  # the columns of ``red_flag_status_statement``, before any a page adds


def red_flag_status(patient_id: int, tz: str | None = None, coach_id: int | None = None) -> RedFlagState:
    """The patient's red-flag state, in one indexed query; ``tz`` gives the local day of a resume notice and
    ``coach_id`` tells the patient's own coach from others who acknowledged."""
    return red_flag_state(db.session.execute(_red_flag_status(), {"patient_id": patient_id}).one(), tz, coach_id)


def red_flag_state(row, tz: str | None = None, coach_id: int | None = None) -> RedFlagState:
    """The state from a row of ``red_flag_status_statement`` (its first RED_FLAG_COLUMNS columns)."""
    severity, paused, acknowledged_by_id, acknowledger, notice_id, resolved_at, note, resolver = row[:RED_FLAG_COLUMNS]
    notice = None
    if notice_id is not None and resolved_at is not None:
        if isinstance(resolved_at, str):  # SQLite returns MAX() of a timestamp as text
            resolved_at = datetime.fromisoformat(resolved_at)
        notice = ResumeNotice(notice_id, as_local(resolved_at, tz).date(), note or "", resolver or "")
    return RedFlagState(
        open_tier=TIER_OF_SEVERITY.get(severity),
        exercises_paused=bool(paused),
        acknowledged_by=acknowledger,
        acknowledged_by_coach=acknowledged_by_id is not None and acknowledged_by_id == coach_id,
        resume_notice=notice,
    )


def red_flag_status_statement():
    """``red_flag_status``'s SELECT (``patient_id`` bound), for a page that reads it with other facts."""
    return _red_flag_status()


def _pausing_red_flag():
    """The condition of a red-flag alert that keeps its patient's exercises paused (defined once)."""
    return and_(Alert.kind == str(AlertKind.RED_FLAG), Alert.exercises_paused.is_(True))


def _build_exercises_paused():
    return db.select(Alert.id).where(Alert.patient_id == bindparam("patient_id"), _pausing_red_flag()).limit(1)


_exercises_paused = KeptStatement(_build_exercises_paused)


def exercises_paused(patient_id: int) -> bool:
    """True while a red flag keeps the patient's exercises paused (one indexed query)."""
    return bool(db.session.scalar(_exercises_paused(), {"patient_id": patient_id}))


def patients_with_exercises_paused(patient_ids: list[int]) -> set[int]:
    """Which of these patients have their exercises paused by a red flag (one query for all of them)."""
    if not patient_ids:
        return set()
    return set(
        db.session.scalars(
            db.select(Alert.patient_id).where(Alert.patient_id.in_(patient_ids), _pausing_red_flag()).distinct()
        )
    )


def exercises_paused_since(patient: User) -> date | None:
    """The patient's local day the red flag that keeps their exercises paused was raised; None
    while nothing is paused (one indexed query). Of several, the earliest: the pause began there."""
    rows = db.session.execute(_pausing_red_flags_of_patient(), {"patient_id": patient.id}).all()
    # The open alert points at the latest red-flag check-in; the pause began when it opened.
    days = [
        min(alert_day(day, opened_at, patient.tz), as_local(opened_at, patient.tz).date()) for day, opened_at in rows
    ]
    return min(days, default=None)


# The coach's patient page reads it on every visit: kept, the patient bound.
def _build_pausing_red_flags_of_patient():
    return (
        db.select(CheckIn.day, Alert.opened_at)
        .outerjoin(CheckIn, CheckIn.id == Alert.checkin_id)
        .where(
            Alert.patient_id == bindparam("patient_id"),
            Alert.kind == str(AlertKind.RED_FLAG),
            Alert.exercises_paused.is_(True),
        )
    )


_pausing_red_flags_of_patient = KeptStatement(_build_pausing_red_flags_of_patient)


def resume_exercises(patient: User, actor: User) -> bool:
    """End the pause of the patient's exercises (audited); True when something was paused. Caller commits."""
    result = db.session.execute(
        update(Alert)
        .where(Alert.patient_id == patient.id, Alert.exercises_paused.is_(True))
        .values(exercises_paused=False)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        audit.record("exercises.resume", patient, actor=actor, patient=patient.id)
    return bool(result.rowcount)


def resolve_alert(alert: Alert, actor: User, note: str, *, resume: bool = False) -> None:
    """Resolve an open alert with the coach's note (audited); caller commits.

    With ``resume`` the patient's paused exercises are available again at once;
    without it a red flag's pause stays until the coach resumes them.
    The conditional UPDATE makes a second, concurrent resolve fail cleanly
    instead of overwriting the first coach's note.
    """
    now = utcnow()
    result = db.session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.resolved_at.is_(None))
        .values(
            resolved_at=now,
            resolved_by_id=actor.id,
            note=note[:MAX_NOTE],
            open_key=None,
            resumed_on_resolve=resume,
            # Resolving is seeing it too: an alert resolved before anyone acknowledged it was acknowledged then.
            acknowledged_at=func.coalesce(Alert.acknowledged_at, now),
            acknowledged_by_id=func.coalesce(Alert.acknowledged_by_id, actor.id),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise AlertError(_("This alert was already resolved."))
    if resume:
        # The patient is told of the latest resume only: an older notice not yet dismissed gives way to it.
        db.session.execute(
            update(Alert)
            .where(
                Alert.patient_id == alert.patient_id,
                Alert.id != alert.id,
                Alert.resumed_on_resolve.is_(True),
                Alert.resume_notice_dismissed_at.is_(None),
            )
            .values(resume_notice_dismissed_at=now)
            .execution_options(synchronize_session=False)
        )
    audit.record("alert.resolve", alert, actor=actor, patient=alert.patient_id, kind=alert.kind)
    if resume:
        resume_exercises(alert.patient, actor)
    db.session.refresh(alert)


def can_acknowledge(user: User, alert: Alert) -> bool:
    """Who may acknowledge an open alert: the patient's coach; once it is escalated, every coach of the patient's
    clinic and every admin too."""
    if not alert.is_open or not getattr(user, "is_active", False):
        return False
    patient = alert.patient
    if user.role == Role.COACH and patient.coach_id == user.id:
        return True
    if alert.escalated_at is None:
        return False
    return user.role == Role.ADMIN or (user.role == Role.COACH and user.clinic_id == patient.clinic_id)


def acknowledge_alert(alert: Alert, actor: User) -> bool:
    """Record that ``actor`` has seen the open alert and is contacting the patient (audited); caller commits.

    False when someone had already acknowledged it (theirs stays: the conditional UPDATE lets one win).
    AlertError when the alert is resolved.
    """
    result = db.session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.open_key == 1, Alert.acknowledged_at.is_(None))
        .values(acknowledged_at=utcnow(), acknowledged_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(alert)
    if result.rowcount:
        audit.record("alert.acknowledge", alert, actor=actor, patient=alert.patient_id, kind=alert.kind)
        return True
    if not alert.is_open:
        raise AlertError(_("This alert was already resolved."))
    return False


def dismiss_resume_notice(patient: User, alert_id: int) -> bool:
    """The patient has read that their coach resumed the exercises; True when a notice was dismissed."""
    result = db.session.execute(
        update(Alert)
        .where(
            Alert.id == alert_id,
            Alert.patient_id == patient.id,
            Alert.resumed_on_resolve.is_(True),
            Alert.resume_notice_dismissed_at.is_(None),
        )
        .values(resume_notice_dismissed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def open_alerts_query(coach: User):
    """Open alerts of the coach's patients and the escalated open alerts of their clinic's other patients, most
    urgent first, then oldest first."""
    return open_alerts_statement(coach.id)


def open_alerts_statement(coach_id):
    """``open_alerts_query`` for a coach's id, or a bound parameter standing for it (a kept statement).

    The alerts are the rows of the two SELECTs themselves (an alias of ``Alert`` over their union), not the alert
    table joined back to their ids: joined back, the database may choose to walk every alert of the practice and
    look each up in the coach's few, and the inbox would then grow with the practice. Sorted by the same rows'
    columns, so a LIMIT never walks the practice's open alerts in that order either."""
    visible = aliased(Alert, _visible_open_alerts(coach_id, *Alert.__table__.c).subquery("visible_alert"))
    return (
        db.select(visible)
        .join(User, User.id == visible.patient_id)
        .order_by(visible.severity, visible.opened_at, visible.id)
    )


def _visible_open_alerts(coach_id, *columns):
    """The open alerts a coach sees (their ``columns``; by default id, severity and opening time): their own
    patients' (through the coach index) and the escalated ones of their clinic's other patients (through the
    escalation index: few rows; every coach of the clinic sees those, and may acknowledge them). Two SELECTs, not
    an OR of the two conditions: with the OR the database reads every patient of the clinic and every open alert
    of the practice, so the inbox would grow with the practice instead of the coach's panel."""
    columns = columns or (Alert.id, Alert.severity, Alert.opened_at)
    coach = aliased(User)
    coach_clinic = db.select(coach.clinic_id).where(coach.id == coach_id).scalar_subquery()
    own = (
        db.select(*columns)
        .join(User, User.id == Alert.patient_id)
        .where(User.coach_id == coach_id, Alert.resolved_at.is_(None))
    )
    escalated = (
        db.select(*columns)
        .join(User, User.id == Alert.patient_id)
        .where(
            Alert.escalated_at.is_not(None),
            Alert.resolved_at.is_(None),
            or_(User.coach_id.is_(None), User.coach_id != coach_id),
            User.clinic_id == coach_clinic,
        )
    )
    return union_all(own, escalated)


def resolved_alerts_query(coach: User):
    return (
        db.select(Alert)
        .join(User, User.id == Alert.patient_id)
        .where(User.coach_id == coach.id, Alert.resolved_at.is_not(None))
        .order_by(Alert.resolved_at.desc(), Alert.id.desc())
    )


# The coach's "Alerts" badge on every coach page (see navigation.register_badge) and the inbox's count:
# the coach's id bound as ``user_id``.
def _build_open_alert_count():
    """The alerts ``open_alerts_query`` lists, counted: one COUNT over the same two SELECTs."""
    return db.select(func.count()).select_from(_visible_open_alerts(bindparam("user_id")).subquery())


_open_alert_count = KeptStatement(_build_open_alert_count)


def open_alert_badge(role: str):
    """The "Alerts" badge's COUNT for a reader of ``role``: a coach's open alerts; None for other roles."""
    return _build_open_alert_count() if role == Role.COACH else None


def open_alert_count(user: User) -> int:
    """Badge count for the coach's "Alerts" navigation entry."""
    if not getattr(user, "is_coach", False):
        return 0
    return db.session.scalar(_open_alert_count(), {"user_id": user.id})


def alert_history_query(patient_id: int):
    return db.select(Alert).where(Alert.patient_id == patient_id).order_by(Alert.opened_at.desc(), Alert.id.desc())
