"""The practice's bulk export streams: its statements and its memory do not grow with the rows it writes.

At the reference size (10,000 patients × 180 days, 3.9 M Observations) the export
must stay under 200 MB; these tests guard the properties that keep it there, on a
few patients with the batch size turned down.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from bench.fhir_check import check
from portal.auth.models import Role, User
from portal.care.models import CheckIn, WeeklyOutcome
from portal.extensions import db as _db
from portal.fhir import export
from portal.messaging.models import Message
from portal.timeutil import local_today
from tests.plan_factories import make_item, make_plan

BATCH = 2  # patients per batch in these tests


@pytest.fixture
def practice(make_user, coach):
    """Five patients, each with a plan, one PEG check and a message; check-ins are added per test."""
    item = make_item(title="Bridge")
    patients = []
    for _ in range(5):
        patient = make_user(Role.PATIENT, coach=coach)
        make_plan(patient, coach, [item])
        today = local_today(patient.tz)
        _db.session.add(
            WeeklyOutcome(
                patient_id=patient.id,
                week_start=today - timedelta(days=today.weekday()),
                pain_average=4,
                enjoyment_interference=3,
                activity_interference=5,
            )
        )
        _db.session.add(Message(patient_id=patient.id, sender_id=patient.id, recipient_id=coach.id, body="Hello"))
        patients.append(patient)
    _db.session.commit()
    return [patient.id for patient in patients]  # ids: an export lets go of every object it loaded


def add_days(patient_ids: list[int], days: int) -> None:
    """Check-ins for the patients' last ``days`` days (added to what they have)."""
    have = {(c.patient_id, c.day) for c in _db.session.scalars(_db.select(CheckIn))}
    for patient in _db.session.scalars(_db.select(User).where(User.id.in_(patient_ids))):
        today = local_today(patient.tz)
        for back in range(days):
            day = today - timedelta(days=back)
            if (patient.id, day) not in have:
                _db.session.add(CheckIn(patient_id=patient.id, day=day, pain=back % 11, stiffness=3, spasm_episodes=1))
    _db.session.commit()


class Watch:
    """The statements an export runs (with their execution options) and what its session holds while it writes."""

    def __init__(self, monkeypatch) -> None:
        self.statements: list[tuple[str, dict]] = []
        self.most_held = 0
        self.held_kinds: set[str] = set()
        write = export._write

        def watched_write(out, resource):
            identity_map = _db.session.identity_map
            self.most_held = max(self.most_held, len(identity_map))
            self.held_kinds.update(type(obj).__name__ for obj in identity_map.values())
            write(out, resource)

        monkeypatch.setattr(export, "_write", watched_write)
        monkeypatch.setattr(export, "BATCH", BATCH)

    def before(self, conn, cursor, statement, parameters, context, executemany):  # noqa: ARG002
        self.statements.append((statement, dict(context.execution_options)))

    def run(self, app, directory: Path) -> dict[str, int]:
        _db.session.expunge_all()  # start as the command does: nothing loaded
        engine = _db.engine
        event.listen(engine, "before_cursor_execute", self.before)
        try:
            return export.bulk_export(directory)
        finally:
            event.remove(engine, "before_cursor_execute", self.before)

    def selects_from(self, table: str) -> list[tuple[str, dict]]:
        pattern = re.compile(rf"\bFROM {table}\b")
        return [(sql, options) for sql, options in self.statements if pattern.search(sql.replace('"', ""))]


def export_with(app, monkeypatch, tmp_path, name: str) -> tuple[Watch, dict[str, int]]:
    app.config["FHIR_INCLUDE_MESSAGES"] = True
    try:
        watch = Watch(monkeypatch)
        counts = watch.run(app, tmp_path / name)
    finally:
        app.config["FHIR_INCLUDE_MESSAGES"] = False
        monkeypatch.undo()
    return watch, counts


def test_statements_and_memory_do_not_grow_with_the_rows(app, monkeypatch, tmp_path, practice):
    add_days(practice, 3)
    short, short_counts = export_with(app, monkeypatch, tmp_path, "short")
    add_days(practice, 40)
    long, long_counts = export_with(app, monkeypatch, tmp_path, "long")

    assert short_counts["Observation"] == 5 * 3 * 4 and long_counts["Observation"] == 5 * 40 * 4
    assert long_counts["Communication"] == 5 and long_counts["QuestionnaireResponse"] == 5
    # Thirteen times the check-ins: not one statement more...
    assert len(long.statements) == len(short.statements)
    # ...and not one object more held while writing: check-ins and PEG checks never become ORM objects.
    assert long.most_held == short.most_held
    assert not long.held_kinds & {"CheckIn", "WeeklyOutcome"}
    # The row-heavy queries stream (a server-side cursor on PostgreSQL), one per batch of patients.
    batches = -(-len(practice) // BATCH)
    for table in (CheckIn.__tablename__, WeeklyOutcome.__tablename__, Message.__tablename__):
        selects = long.selects_from(table)
        assert len(selects) == batches, table
        assert all(options.get("yield_per") == export.STREAM_ROWS for _sql, options in selects), table


def test_statements_grow_with_batches_of_patients_only(app, monkeypatch, tmp_path, practice, make_user, coach, clinic):
    add_days(practice, 2)
    five, _counts = export_with(app, monkeypatch, tmp_path, "five")
    _db.session.add_all([clinic, coach])  # the export let go of them
    more = [make_user(Role.PATIENT, coach=coach) for _ in range(2)]  # one batch more
    for patient in more:
        make_plan(patient, coach, [make_item(title="Cat-cow")])
    add_days([patient.id for patient in more], 2)
    seven, counts = export_with(app, monkeypatch, tmp_path, "seven")
    assert counts["Patient"] == 7
    per_batch = len(seven.statements) - len(five.statements)
    # Patients, plans, their items, library items and texts, check-ins, PEG checks, messages, the next ids;
    # consents, intakes, and goals with their ratings.
    assert 0 < per_batch <= 15
    assert len(seven.statements) <= per_batch * 4 + 12


def test_the_export_matches_the_database(app, tmp_path, practice):
    """The bench's checker (line counts, sampled validation, references) passes, and catches a lost line."""
    add_days(practice, 4)
    directory = tmp_path / "export"
    app.config["FHIR_INCLUDE_MESSAGES"] = True
    try:
        export.bulk_export(directory)
        reports = check(directory, sample=50)
        assert [r.problems for r in reports] == [[]] * len(reports)
        assert {r.kind: r.lines for r in reports}["Observation"] == 5 * 4 * 4
        observations = directory / "Observation.ndjson"
        lines = observations.read_text().splitlines(keepends=True)
        observations.write_text("".join(lines[:-1]))
        broken = {r.kind: r.problems for r in check(directory, sample=50)}
        assert broken["Observation"] == [f"{len(lines) - 1} lines, the database has {len(lines)}"]
    finally:
        app.config["FHIR_INCLUDE_MESSAGES"] = False
