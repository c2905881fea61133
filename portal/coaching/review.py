"""The coach's review figures for a page of patients, computed in SQL for the whole page.

Roster columns: last check-in, latest pain with its trend, 7-day adherence and
open alerts; and the reason a patient needs attention, which is the tier the one
ranking (``portal.care.attention``, which also orders the roster) placed them in.
Each figure is one grouped query over the page's patient ids, never one per patient.

Trend: ``portal.care.attention.pain_trend`` (the last 3 days against the 7 before,
and never "steady" beside a named pain rise).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, func
from sqlalchemy.orm import joinedload

from portal.auth.models import User
from portal.care.alerts import MISSED_DAYS, alert_history_query, exercises_paused_since, previous_week_pain
from portal.care.attention import Attention, Tier, attention_of, attention_placed, pain_trend, red_flag_days
from portal.care.checkins import checkin_history_query, patient_today
from portal.care.models import ALERT_LABELS, LEAST_URGENT_RED_FLAG, Alert, AlertKind, CheckIn
from portal.care.plans import roster_statement
from portal.care.progress import adherence_and_pauses, progress_for
from portal.extensions import db
from portal.sqlutil import PATIENT_IDS, KeptStatement
from portal.timeutil import utcnow

ROSTER_SORTS = {"attention": _l("Needs attention"), "name": _l("Name")}
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
    red_flag_day: date | None = None  # the check-in day of the open (or recently resolved) red flag
    has_plan: bool = False
    pain_rise: int | None = None  # latest pain minus the earliest check-in's of the week before
    rise_since: date | None = None  # the day of that earlier check-in
    today: date | None = None
    attention: Attention | None = None  # where the one ranking (portal.care.attention) places them

    @property
    def has_urgent_alert(self) -> bool:
        """A red-flag alert (of any tier) is open: every red flag sorts before the other kinds."""
        return self.most_urgent is not None and self.most_urgent <= LEAST_URGENT_RED_FLAG

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
        """Why this patient needs attention, as (kind, values): the tier that placed them on the
        roster (``portal.care.attention``); None when on track.

        Kinds: "red_flag" (day), "pain_alert", "red_flag_resolved" (day), "pain_up" (points,
        since), "no_checkin" (days), "missed_alert", "never_checked_in", "nothing_due",
        "new_plan", "all_paused"."""
        tier = self.attention.tier if self.attention is not None else Tier.ON_TRACK
        if tier == Tier.RED_FLAG:
            return "red_flag", {"day": self.red_flag_day}
        if tier == Tier.OPEN_ALERT:
            return "pain_alert", {}
        if tier == Tier.RECENT_RED_FLAG:
            return "red_flag_resolved", {"day": self.red_flag_day}
        if tier == Tier.PAIN_UP:
            return "pain_up", {"points": self.pain_rise, "since": self.rise_since}
        if tier == Tier.MISSED:
            days = self.days_without_checkin
            if days is None:
                return "never_checked_in", {}
            return ("no_checkin", {"days": days}) if days >= MISSED_DAYS else ("missed_alert", {})
        if tier == Tier.NEW_PLAN:
            if not self.attention.new_plan(self.today):
                return "all_paused", {}
            if self.adherence_due == 0:
                # Nothing due because the coach paused every item is not a new plan.
                return ("all_paused", {}) if self.adherence_paused else ("nothing_due", {})
            return ("never_checked_in", {}) if self.last_checkin is None else ("new_plan", {})
        return None

    @property
    def reason_text(self) -> str:
        """The reason in words, for the roster row."""
        found = self.reason
        if found is None:
            return ""
        kind, values = found
        if kind in ("red_flag", "red_flag_resolved"):
            day = format_date(values["day"], "MMM d") if values["day"] else ""
            if kind == "red_flag":
                return _("Red flag %(day)s", day=day)
            return _("Red flag %(day)s, resolved", day=day)
        if kind == "pain_alert":
            return str(ALERT_LABELS[AlertKind.PAIN_WORSENING])
        if kind == "pain_up":
            return _(
                "Pain up %(points)s since %(day)s", points=values["points"], day=format_date(values["since"], "EEEE")
            )
        if kind == "nothing_due":
            return _("New plan: nothing due yet")
        if kind == "new_plan":
            return _("New plan this week")
        if kind == "all_paused":
            return _("Every plan item paused")
        if kind == "no_checkin":
            return ngettext("No check-in for %(num)d day", "No check-in for %(num)d days", values["days"])
        if kind == "missed_alert":
            return str(ALERT_LABELS[AlertKind.MISSED_CHECKINS])
        return _("No check-in yet")

    @property
    def trend_label(self) -> str:
        return str(TREND_LABELS.get(self.trend, ""))


def review_for(
    patient_ids: list[int],
    today: date,
    now: datetime | None = None,
    attention: dict[int, Attention] | None = None,
) -> dict[int, PatientReview]:
    """{patient id: PatientReview} for a page of patients (seven queries whatever its size); ``now``
    (default: the current time) places resolved red flags in or out of the last 48 hours. ``attention``: where the
    ranking placed them, when the page's own statement read it (``attention_placed``; one query fewer)."""
    result = {pid: PatientReview(today=today) for pid in patient_ids}
    if not patient_ids:
        return result
    window = _review_window(patient_ids, today)
    averages = _read_latest(result, window)
    for pid, day, pain in db.session.execute(_week_first_checkin_statement(), window):
        review = result[pid]
        if review.latest_pain is not None and review.last_checkin is not None and review.last_checkin > day:
            review.pain_rise, review.rise_since = review.latest_pain - pain, day
    for pid, (recent, before) in averages.items():
        result[pid].trend = pain_trend(recent, before, result[pid].pain_rise)
    for pid, count, severity in db.session.execute(_open_alerts_statement(), window):
        result[pid].open_alerts, result[pid].most_urgent = count, severity
    now = now or utcnow()
    for pid, day in red_flag_days(patient_ids, now).items():
        result[pid].red_flag_day = day
    if attention is None:
        attention = attention_of(patient_ids, today, now)
    for pid, place in attention.items():
        result[pid].attention = place
    _read_adherence(result, today)
    return result


def _review_window(patient_ids: list[int], today: date) -> dict:
    """The values the review's statements are bound to."""
    return {
        "patient_ids": patient_ids,
        "today": today,
        "recent_from": today - timedelta(days=2),
        "before_from": today - timedelta(days=9),
        "week_from": today - timedelta(days=7),
    }


def _read_latest(result: dict[int, PatientReview], window: dict) -> dict[int, tuple]:
    """Fill in each patient's last check-in and its pain; returns {patient id: (average pain of T-2..T, of
    T-9..T-3)} for the trend."""
    averages = {}
    for pid, day, pain, recent, before in db.session.execute(_latest_and_trend_statement(), window):
        review = result[pid]
        review.last_checkin, review.latest_pain = day, pain
        averages[pid] = (recent, before)
    return averages


def _read_adherence(result: dict[int, PatientReview], today: date) -> None:
    """Fill in each patient's adherence of the 7 days to ``today``."""
    for pid, (due, done, paused) in adherence_and_pauses(list(result), today - timedelta(days=6), today).items():
        result[pid].adherence_due, result[pid].adherence_done, result[pid].adherence_paused = due, done, paused


def latest_and_adherence(patient_id: int, today: date) -> PatientReview:
    """The patient page's figures of ``review_for``: the last check-in, its pain and the 7-day adherence, the same
    figures from the same statements (three of its seven: the page shows no trend, ranking or alert count of the
    review, so it does not read them)."""
    result = {patient_id: PatientReview(today=today)}
    _read_latest(result, _review_window([patient_id], today))
    _read_adherence(result, today)
    return result[patient_id]


# The review's statements run on every roster page: each is kept (built once per app) with bound
# parameters, since building them in SQLAlchemy costs more than PostgreSQL takes to run them.
def _build_latest_and_trend_statement():
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


_latest_and_trend_statement = KeptStatement(_build_latest_and_trend_statement)


def _build_week_first_checkin_statement():
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


_week_first_checkin_statement = KeptStatement(_build_week_first_checkin_statement)


def _build_open_alerts_statement():
    """(patient id, open alerts, most urgent severity)."""
    return (
        db.select(Alert.patient_id, func.count(Alert.id), func.min(Alert.severity))
        .where(Alert.patient_id.in_(PATIENT_IDS), Alert.resolved_at.is_(None))
        .group_by(Alert.patient_id)
    )


_open_alerts_statement = KeptStatement(_build_open_alerts_statement)


# The roster's page without a search, the coach's pages' and the API's: kept, with the coach's id (``coach_id``), the
# ranking's times (``attention_params``) and the page's ``limit`` and ``offset`` bound.
def _build_roster_page(sort: str):
    """A page of the coach's patients in ``sort``'s order; by attention, each row also carries where the ranking
    placed the patient (read them with ``placed``)."""
    query = roster_statement(bindparam("coach_id"))
    if sort == "attention":
        query = attention_placed(query)
    return query.limit(bindparam("limit")).offset(bindparam("offset"))


roster_page = KeptStatement(_build_roster_page, variants=[(sort,) for sort in ROSTER_SORTS])


def placed(rows) -> dict[int, Attention]:
    """{patient id: where the ranking placed them} from rows of ``roster_page("attention")``, for ``review_for``."""
    return {row[0].id: Attention(Tier(row[2]), row[3]) for row in rows}


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
    review: PatientReview  # its last check-in, latest pain and adherence (``latest_and_adherence``)
    pain_change: float | None  # latest pain minus the average of the 7 days before it
    paused_since: date | None  # the day of the red flag that keeps the exercises paused

    @property
    def exercises_paused(self) -> bool:
        return self.paused_since is not None

    @property
    def has_urgent_alert(self) -> bool:
        return any(alert.kind == AlertKind.RED_FLAG for alert in self.open_alerts)


def patient_summary(patient: User) -> PatientSummary:
    """Open alerts, pain now and its change, last check-in, 7-day adherence (a fixed number of queries)."""
    today = patient_today(patient)
    review = latest_and_adherence(patient.id, today)
    change = None
    if review.last_checkin is not None and review.latest_pain is not None:
        total, count = previous_week_pain(patient.id, review.last_checkin)
        if count:
            change = review.latest_pain - total / count
    open_alerts = db.session.scalars(_open_alerts_of_patient(), {"patient_id": patient.id}).all()
    return PatientSummary(list(open_alerts), review, change, exercises_paused_since(patient))


def _build_open_alerts_of_patient():
    return (
        db.select(Alert)
        .options(joinedload(Alert.checkin))
        .where(Alert.patient_id == bindparam("patient_id"), Alert.resolved_at.is_(None))
        .order_by(Alert.severity, Alert.opened_at)
    )


_open_alerts_of_patient = KeptStatement(_build_open_alerts_of_patient)


RECENT_CHECKINS = 10
RECENT_ALERTS = 10


def patient_page_context(patient: User, days: int = 30) -> dict:
    """What the coach's patient page shows of check-ins: charts, recent check-ins, alerts.

    A fixed number of queries (about ten) however long the patient's history is.
    """
    today = patient_today(patient)
    return {
        "progress": progress_for(patient.id, today, days),
        "recent_checkins": db.session.scalars(_recent_checkins(), {"patient_id": patient.id}).all(),
        "alert_history": db.session.scalars(_recent_alerts(), {"patient_id": patient.id}).all(),
    }


# Every visit to the patient page reads them: kept, the patient bound.
def _build_recent_checkins():
    return checkin_history_query(bindparam("patient_id")).limit(RECENT_CHECKINS)


def _build_recent_alerts():
    return alert_history_query(bindparam("patient_id")).limit(RECENT_ALERTS)


_recent_checkins = KeptStatement(_build_recent_checkins)
_recent_alerts = KeptStatement(_build_recent_alerts)
