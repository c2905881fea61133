"""The practice's safety figures: per clinic, over the last 30 and 90 days, the red-flag alerts by tier, how long
they waited to be acknowledged and to be resolved, and how many were escalated.

Precisely, for a clinic (the patient's clinic now) and a window of N days ending at ``now``:

* the alerts are the red-flag alerts opened in [now - N days, now];
* **by tier**: how many of them have each tier (Emergency, Today, Soon: severities Emergency, Urgent, Attention);
* **time to acknowledge**: ``acknowledged_at - opened_at`` of those acknowledged (resolving counts as
  acknowledging); **time to resolve**: ``resolved_at - opened_at`` of those resolved; in whole minutes, rounded
  down. Alerts still waiting are left out of the times and counted apart (``unacknowledged``, ``open``);
* **median**: the middle value (the mean of the two middle ones for an even count); **90th percentile**: the
  nearest-rank value, the ceil(0.9 n)-th smallest;
* **escalated**: how many have ``escalated_at`` set.

One query reads the 90 days' alerts of every clinic; the figures are computed from those rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from portal.auth.models import Clinic, User
from portal.care.models import Alert, AlertKind
from portal.care.red_flags import TIERS_BY_RANK, Tier
from portal.extensions import db
from portal.timeutil import utcnow

WINDOWS = (30, 90)


def median(values: Sequence[int]) -> float | None:
    """The middle value (the mean of the two middle ones); None for no values."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    middle = n // 2
    return float(ordered[middle]) if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def percentile_90(values: Sequence[int]) -> int | None:
    """The nearest-rank 90th percentile: the ceil(0.9 n)-th smallest value; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


@dataclass
class SafetyFigures:
    """One clinic's figures over one window."""

    clinic_id: int | None
    clinic_name: str
    days: int
    by_tier: dict[str, int] = field(default_factory=lambda: {str(tier): 0 for tier in TIERS_BY_RANK})
    acknowledge_minutes: list[int] = field(default_factory=list)
    resolve_minutes: list[int] = field(default_factory=list)
    escalated: int = 0
    unacknowledged: int = 0
    open: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_tier.values())

    @property
    def acknowledge_median(self) -> float | None:
        return median(self.acknowledge_minutes)

    @property
    def acknowledge_p90(self) -> int | None:
        return percentile_90(self.acknowledge_minutes)

    @property
    def resolve_median(self) -> float | None:
        return median(self.resolve_minutes)

    @property
    def resolve_p90(self) -> int | None:
        return percentile_90(self.resolve_minutes)


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def safety_figures(now: datetime | None = None, windows: Sequence[int] = WINDOWS) -> list[SafetyFigures]:
    """Every clinic's figures for each window (clinics by name, then the shorter window first); patients without a
    clinic are grouped under clinic None."""
    now = now or utcnow()
    since = now - timedelta(days=max(windows))
    clinics = db.session.execute(db.select(Clinic.id, Clinic.name).order_by(Clinic.name, Clinic.id)).all()
    rows = db.session.execute(
        db.select(
            User.clinic_id,
            Alert.tier,
            Alert.opened_at,
            Alert.acknowledged_at,
            Alert.resolved_at,
            Alert.escalated_at,
        )
        .join(User, User.id == Alert.patient_id)
        .where(Alert.kind == str(AlertKind.RED_FLAG), Alert.opened_at >= since, Alert.opened_at <= now)
    ).all()
    figures: dict[tuple[int | None, int], SafetyFigures] = {}
    order = [(clinic_id, name) for clinic_id, name in clinics]
    if any(row.clinic_id is None for row in rows):
        order.append((None, ""))
    for clinic_id, name in order:
        for days in windows:
            figures[(clinic_id, days)] = SafetyFigures(clinic_id, name, days)
    for row in rows:
        for days in windows:
            if row.opened_at < now - timedelta(days=days):
                continue
            target = figures[(row.clinic_id, days)]
            target.by_tier[str(Tier(row.tier or Tier.TODAY))] += 1
            if row.acknowledged_at is not None:
                target.acknowledge_minutes.append(_minutes(row.opened_at, row.acknowledged_at))
            else:
                target.unacknowledged += 1
            if row.resolved_at is not None:
                target.resolve_minutes.append(_minutes(row.opened_at, row.resolved_at))
            else:
                target.open += 1
            target.escalated += int(row.escalated_at is not None)
    return [figures[(clinic_id, days)] for clinic_id, _name in order for days in windows]
