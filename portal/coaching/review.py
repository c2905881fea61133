"""The coach's review figures for a page of patients, computed in SQL for the whole page.

Roster columns: last check-in, latest pain with its trend, 7-day adherence and
open alerts; and the "needs attention" order. Each figure is one grouped query
over the page's patient ids (or a join in the roster query), never one per patient.

Trend: average pain of the last 3 days (T-2..T) against the 7 days before
(T-9..T-3); "rising" at +1 point or more, "easing" at -1 or less, else "steady".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import format_date, format_datetime, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, bindparam, case, func, literal, nulls_last

from portal.auth.models import User
from portal.care.alerts import MISSED_DAYS, alert_history_query, exercises_paused, previous_week_pain
from portal.care.checkins import checkin_history_query, patient_today
from portal.care.models import ALERT_SEVERITY, Alert, AlertKind, CheckIn
from portal.care.progress import adherence_and_pauses, progress_for
from portal.care.red_flags import RED_FLAG_QUESTIONS
from portal.extensions import db
from portal.sqlutil import PATIENT_IDS, built_once

ROSTER_SORTS = {"attention": _l("Needs attention"), "name": _l("Name")}
TREND_POINTS = 1
# A rise the roster names in words ("Pain up 4 since Tuesday"): the worsening rule's 2 points.
PAIN_RISE_POINTS = 2
TREND_LABELS = {"up": _l("rising"), "down": _l("easing"), "steady": _l("steady")}


@dataclass
class PatientReview:
    last_checkin: date | None = None
    latest_pain: int | None = None
    trend: str | None = None  # "up" | "down" | "steady" | None (not enough data)
    adherence_due: int = 0
    adherence_done: int = 0
    adherence_paused: int = 0  # sessions not due because the coach paused their items
    open_alerts: int = 0
    most_urgent: int | None = None  # lowest open alert severity
    red_flag_opened: datetime | None = None  # when the open red-flag alert opened
    has_plan: bool = False
    pain_rise: int | None = None  # latest pain minus the earliest check-in's of the week before
    rise_since: date | None = None  # the day of that earlier check-in
    today: date | None = None

    @property
    def has_urgent_alert(self) -> bool:
        return self.most_urgent == ALERT_SEVERITY[AlertKind.RED_FLAG]

    @property
    def adherence_percent(self) -> int | None:
        return round(100 * self.adherence_done / self.adherence_due) if self.adherence_due else None

    @property
    def days_without_checkin(self) -> int | None:
        if self.today is None or self.last_checkin is None:
            return None
        return (self.today - self.last_checkin).days

    @property
    def reason(self) -> tuple[str, dict] | None:
        """Why this patient needs attention, as (kind, values), most pressing first; None when nothing does.

        Kinds: "red_flag" (opened), "pain_up" (points, since), "no_checkin" (days),
        "never_checked_in", "nothing_due", "all_paused"."""
        if self.red_flag_opened is not None:
            return "red_flag", {"opened": self.red_flag_opened}
        if self.pain_rise is not None and self.pain_rise >= PAIN_RISE_POINTS:
            return "pain_up", {"points": self.pain_rise, "since": self.rise_since}
        if self.has_plan and self.adherence_due == 0:
            # Nothing due because the coach paused every item is not a new plan.
            return ("all_paused", {}) if self.adherence_paused else ("nothing_due", {})
        days = self.days_without_checkin
        if self.has_plan and days is not None and days >= MISSED_DAYS:
            return "no_checkin", {"days": days}
        if self.has_plan and self.last_checkin is None:
            return "never_checked_in", {}
        return None

    @property
    def reason_text(self) -> str:
        """The reason in words, for the roster row."""
        found = self.reason
        if found is None:
            return ""
        kind, values = found
        if kind == "red_flag":
            return _("Red flag %(day)s", day=format_datetime(values["opened"], "MMM d"))
        if kind == "pain_up":
            return _(
                "Pain up %(points)s since %(day)s", points=values["points"], day=format_date(values["since"], "EEEE")
            )
        if kind == "nothing_due":
            return _("New plan: nothing due yet")
        if kind == "all_paused":
            return _("Every plan item paused")
        if kind == "no_checkin":
            return ngettext("No check-in for %(num)d day", "No check-in for %(num)d days", values["days"])
        return _("No check-in yet")

    @property
    def trend_label(self) -> str:
        return str(TREND_LABELS.get(self.trend, ""))


def _trend(recent: float | None, before: float | None) -> str | None:
    if recent is None or before is None:
        return None
    change = float(recent) - float(before)
    if change >= TREND_POINTS:
        return "up"
    if change <= -TREND_POINTS:
        return "down"
    return "steady"


def review_for(patient_ids: list[int], today: date) -> dict[int, PatientReview]:
    """{patient id: PatientReview} for a page of patients (five queries whatever its size)."""
    result = {pid: PatientReview(today=today) for pid in patient_ids}
    if not patient_ids:
        return result
    window = {
        "patient_ids": patient_ids,
        "today": today,
        "recent_from": today - timedelta(days=2),
        "before_from": today - timedelta(days=9),
        "week_from": today - timedelta(days=7),
    }
    for pid, day, pain, recent, before in db.session.execute(_latest_and_trend_statement(), window):
        review = result[pid]
        review.last_checkin, review.latest_pain, review.trend = day, pain, _trend(recent, before)
    for pid, day, pain in db.session.execute(_week_first_checkin_statement(), window):
        review = result[pid]
        if review.latest_pain is not None and review.last_checkin is not None and review.last_checkin > day:
            review.pain_rise, review.rise_since = review.latest_pain - pain, day
    for pid, count, severity, red_flag_opened in db.session.execute(_open_alerts_statement(), window):
        result[pid].open_alerts, result[pid].most_urgent = count, severity
        result[pid].red_flag_opened = red_flag_opened
    for pid, (due, done, paused) in adherence_and_pauses(patient_ids, today - timedelta(days=6), today).items():
        result[pid].adherence_due, result[pid].adherence_done, result[pid].adherence_paused = due, done, paused
    return result


# The review's statements run on every roster page: each is built once per process with bound
# parameters, since building them in SQLAlchemy costs more than PostgreSQL takes to run them.
@built_once
def _latest_and_trend_statement():
    """(patient id, last check-in day, its pain, average pain of T-2..T, of T-9..T-3)."""
    today, recent_from, before_from = bindparam("today"), bindparam("recent_from"), bindparam("before_from")
    # A correlated max() per patient is one index probe (PostgreSQL and SQLite both read
    # the newest entry of (patient_id, day)); a GROUP BY would read every day of history.
    last_day = (
        db.select(User.id.label("patient_id"), _last_checkin_day().label("day"))
        .where(User.id.in_(PATIENT_IDS))
        .subquery()
    )
    in_recent = and_(CheckIn.day >= recent_from, CheckIn.day <= today)
    in_before = and_(CheckIn.day >= before_from, CheckIn.day < recent_from)
    trend_rows = (
        db.select(
            CheckIn.patient_id,
            func.avg(case((in_recent, CheckIn.pain))).label("recent"),
            func.avg(case((in_before, CheckIn.pain))).label("before"),
        )
        .where(CheckIn.patient_id.in_(PATIENT_IDS), CheckIn.day >= before_from, CheckIn.day <= today)
        .group_by(CheckIn.patient_id)
        .subquery()
    )
    return (
        db.select(last_day.c.patient_id, last_day.c.day, CheckIn.pain, trend_rows.c.recent, trend_rows.c.before)
        .join(CheckIn, and_(CheckIn.patient_id == last_day.c.patient_id, CheckIn.day == last_day.c.day))
        .outerjoin(trend_rows, trend_rows.c.patient_id == last_day.c.patient_id)
    )


@built_once
def _week_first_checkin_statement():
    """(patient id, day, pain) of the earliest check-in of the week before today, to say "pain up N since <day>"."""
    first_day = (
        db.select(CheckIn.patient_id, func.min(CheckIn.day).label("day"))
        .where(
            CheckIn.patient_id.in_(PATIENT_IDS),
            CheckIn.day >= bindparam("week_from"),
            CheckIn.day < bindparam("today"),
        )
        .group_by(CheckIn.patient_id)
        .subquery()
    )
    return db.select(first_day.c.patient_id, first_day.c.day, CheckIn.pain).join(
        CheckIn, and_(CheckIn.patient_id == first_day.c.patient_id, CheckIn.day == first_day.c.day)
    )


@built_once
def _open_alerts_statement():
    """(patient id, open alerts, most urgent severity, when the open red-flag alert opened)."""
    red_flag = Alert.kind == str(AlertKind.RED_FLAG)
    return (
        db.select(
            Alert.patient_id,
            func.count(Alert.id),
            func.min(Alert.severity),
            func.min(case((red_flag, Alert.opened_at))),
        )
        .where(Alert.patient_id.in_(PATIENT_IDS), Alert.resolved_at.is_(None))
        .group_by(Alert.patient_id)
    )


def order_by_attention(query: Select) -> Select:
    """Re-order a roster query (selecting User) so patients needing attention come first.

    Most urgent open alert first (red flag, then worsening, then missed), then more
    open alerts, then the longest since a check-in (never checked in first), then name.
    Joins two grouped subqueries, so it stays one SELECT.
    """
    return query.order_by(None).order_by(*_attention_order())


@built_once
def _attention_order() -> tuple:
    """The ORDER BY terms of ``order_by_attention``; they depend on nothing of the request, so the
    roster builds them (four correlated subqueries) once per process."""
    # Correlated subqueries, evaluated only for the coach's own patients through the
    # (patient_id, ...) indexes: grouping whole tables would grow with the practice's history.
    open_alert = and_(Alert.patient_id == User.id, Alert.resolved_at.is_(None))
    severity = db.select(func.min(Alert.severity)).where(open_alert).correlate(User).scalar_subquery()
    count = db.select(func.count(Alert.id)).where(open_alert).correlate(User).scalar_subquery()
    last_day = _last_checkin_day()
    never = case((last_day.is_(None), literal(0)), else_=literal(1))
    return (nulls_last(severity.asc()), count.desc(), never, last_day.asc(), User.name, User.id)


def _last_checkin_day():
    """Scalar subquery: the day of the patient's (``User``'s) latest check-in."""
    return db.select(func.max(CheckIn.day)).where(CheckIn.patient_id == User.id).correlate(User).scalar_subquery()


def roster_sort(raw: str | None) -> str | None:
    """The roster sort key from the query string, or None when it is not one we offer.

    Who needs attention comes first by default: the roster is a triage list."""
    value = raw or "attention"
    return value if value in ROSTER_SORTS else None


@dataclass
class PatientSummary:
    """The top of the coach's patient page: what needs doing now."""

    open_alerts: list[Alert]
    review: PatientReview
    pain_change: float | None  # latest pain minus the average of the 7 days before it
    exercises_paused: bool

    @property
    def has_urgent_alert(self) -> bool:
        return any(alert.kind == AlertKind.RED_FLAG for alert in self.open_alerts)


def patient_summary(patient: User) -> PatientSummary:
    """Open alerts, pain now and its change, last check-in, 7-day adherence (a fixed number of queries)."""
    today = patient_today(patient)
    review = review_for([patient.id], today)[patient.id]
    change = None
    if review.last_checkin is not None and review.latest_pain is not None:
        total, count = previous_week_pain(patient.id, review.last_checkin)
        if count:
            change = review.latest_pain - total / count
    open_alerts = db.session.scalars(_OPEN_ALERTS_OF_PATIENT, {"patient_id": patient.id}).all()
    return PatientSummary(list(open_alerts), review, change, exercises_paused(patient.id))


_OPEN_ALERTS_OF_PATIENT = (
    db.select(Alert)
    .where(Alert.patient_id == bindparam("patient_id"), Alert.resolved_at.is_(None))
    .order_by(Alert.severity, Alert.opened_at)
)


RECENT_CHECKINS = 10
RECENT_ALERTS = 10


def patient_page_context(patient: User, days: int = 30) -> dict:
    """What the coach's patient page shows of check-ins: charts, recent check-ins, alerts.

    A fixed number of queries (about ten) however long the patient's history is.
    """
    today = patient_today(patient)
    return {
        "progress": progress_for(patient.id, today, days),
        "recent_checkins": db.session.scalars(checkin_history_query(patient.id).limit(RECENT_CHECKINS)).all(),
        "alert_history": db.session.scalars(alert_history_query(patient.id).limit(RECENT_ALERTS)).all(),
        "questions": RED_FLAG_QUESTIONS,
    }
