"""The Outcomes downloads as CSV text: the group report and the admin's per-patient file.

Every cell goes through ``portal.csvutil`` (formula-like text is neutralised), filter values
included: a clinic or program name is typed by people.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from portal.care.red_flags import TIERS_BY_RANK
from portal.csvutil import csv_line
from portal.outcomes.services import IMPROVED, UNCHANGED, WORSE, Group, PatientRow, Report

TOO_FEW = "too few to compare"
CLASS_WORDS = {IMPROVED: "improved", UNCHANGED: "unchanged", WORSE: "worse"}

GROUP_COLUMNS = (
    "group_type",
    "group",
    "patients",
    "active",
    "active_pct",
    "dropped_out",
    "dropped_out_pct",
    "pain_n",
    "pain_start_median",
    "pain_now_median",
    "pain_change_median",
    "pain_improved_pct",
    "pain_unchanged_pct",
    "pain_worse_pct",
    "peg_n",
    "peg_start_median",
    "peg_now_median",
    "peg_change_median",
    "peg_improved_pct",
    "peg_unchanged_pct",
    "peg_worse_pct",
    "psfs_n",
    "psfs_start_median",
    "psfs_now_median",
    "psfs_change_median",
    "psfs_improved_pct",
    "psfs_unchanged_pct",
    "psfs_worse_pct",
    "adherence_n",
    "adherence_median_pct",
    "adherence_q1_pct",
    "adherence_q3_pct",
    "adherence_at_or_above_70_pct",
    "red_flag_alerts",
    *(f"red_flag_alerts_{tier.value}" for tier in TIERS_BY_RANK),
    "red_flag_alerts_acknowledged",
    "acknowledge_hours_median",
    "red_flag_alerts_resolved",
    "resolve_hours_median",
    "note",
)

PATIENT_COLUMNS = (
    "report_id",
    "clinic",
    "coach",
    "program",
    "start_date",
    "weeks_in_programme",
    "status",
    "days_since_last_checkin",
    "pain_start",
    "pain_now",
    "pain_change",
    "peg_start",
    "peg_now",
    "peg_change",
    "psfs_start",
    "psfs_now",
    "psfs_change",
    "adherence_last_7_days_pct",
    "red_flag_alerts",
)


def _r(value: float | None) -> float | str:
    return "" if value is None else round(value, 1)


def _group_cells(kind: str, group: Group) -> list:
    cells: list = [kind, group.label, group.started]
    if not group.shown:
        return cells + [""] * (len(GROUP_COLUMNS) - 4) + [TOO_FEW]
    cells += [group.active, _r(group.share(group.active)), group.dropped, _r(group.share(group.dropped))]
    for change in (group.pain, group.peg, group.psfs):
        if change.shown:
            cells += [change.n, _r(change.start), _r(change.now), _r(change.change)]
            cells += [_r(change.share(change.improved)), _r(change.share(change.unchanged))]
            cells += [_r(change.share(change.worse))]
        else:
            cells += [change.n] + [""] * 6
    a = group.adherence
    if a.shown:
        cells += [a.n, _r(a.median), _r(a.q1), _r(a.q3), _r(a.on_target_share)]
    else:
        cells += [a.n] + [""] * 4
    s = group.safety
    cells += [s.red_flags, *(s.by_tier[tier.value] for tier in TIERS_BY_RANK)]
    cells += [s.acknowledged, _r(s.median_ack_hours) if s.ack_shown else ""]
    cells += [s.resolved, _r(s.median_resolve_hours) if s.shown else ""]
    return cells + [""]


def group_csv(figures: Report, filter_lines: Iterable[tuple[str, str]]) -> Iterator[str]:
    """The report: header lines naming the filters, then one row per group (all, clinics, coaches, programs)."""
    yield csv_line(["# Holistiq Coach outcome report"])
    yield csv_line(["# Generated", figures.today.isoformat()])
    for name, value in filter_lines:
        yield csv_line([f"# {name}", value])
    yield csv_line(["# Groups under 5 patients show their number only", TOO_FEW])
    yield csv_line(GROUP_COLUMNS)
    yield csv_line(_group_cells("all", figures.overall))
    for kind, groups in figures.groups.items():
        for group in groups:
            yield csv_line(_group_cells(kind, group))


def patient_csv(rows: list[PatientRow], names: dict[str, dict], today: date) -> Iterator[str]:
    """One row per patient, under a stable report id: no name, email, phone or birth date."""
    yield csv_line(PATIENT_COLUMNS)
    for row in rows:
        yield csv_line(
            [
                row.report_id,
                names["clinic"].get(row.clinic_id, ""),
                names["coach"].get(row.coach_id, ""),
                names["program"].get(row.program_id, ""),
                row.start_day.isoformat(),
                (today - row.start_day).days // 7,
                row.status,
                (today - row.last_day).days if row.last_day else "",
                _r(row.pain_start),
                _r(row.pain_now),
                CLASS_WORDS.get(row.pain_class, ""),
                _r(row.peg_start),
                _r(row.peg_now),
                CLASS_WORDS.get(row.peg_class, ""),
                _r(row.psfs_start),
                _r(row.psfs_now),
                CLASS_WORDS.get(row.psfs_class, ""),
                _r(row.adherence),
                row.red_flags,
            ]
        )
