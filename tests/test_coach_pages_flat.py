"""Flatness guard: a coach's pages read the coach's own patients, whatever the size of the practice.

On PostgreSQL each statement of the roster (by who needs attention), the alert inbox and the badges is
run again under EXPLAIN ANALYZE with the plans a large practice gets (index probes: sequential scans,
hash and merge joins and bitmap scans turned off, as the planner avoids them when the tables are big),
and the rows its scans took from tables and indexes are added up. Another coach's patients, with open alerts of
every kind, then join the clinic: the totals must not move. A statement that reads the whole practice
(every open alert, every patient of the clinic) reads more rows as the practice grows, and fails here.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import event, insert

from portal.auth.models import Role, User
from portal.care.models import Alert, AlertKind
from portal.extensions import db as _db
from portal.timeutil import utcnow
from tests.plan_factories import make_item, make_plan

PAGES = ("/coach/?sort=attention", "/coach/alerts")
# Bare patients of the other coach (an account and its alerts) that make the tables a practice's size; then the
# full patients (plan, alerts) that join as the practice grows.
PRACTICE_BALLAST = 3000
PRACTICE_GROWTH = 12
LARGE_PRACTICE_PLANS = (
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; "
    "SET LOCAL enable_mergejoin = off; SET LOCAL enable_bitmapscan = off"
)


def _rows_read(node: dict) -> int:
    """Rows the plan's scans took from tables and indexes (joins, sorts and materializing only pass them on)."""
    own = int(node.get("Actual Rows", 0) * node.get("Actual Loops", 1)) if "Relation Name" in node else 0
    return own + sum(_rows_read(child) for child in node.get("Plans", []))


def _page_reads(client, path: str) -> list[tuple[str, int]]:
    """(statement, rows its plan read) for each SELECT the page runs."""
    captured = []

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(_db.engine, "before_cursor_execute", before)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(_db.engine, "before_cursor_execute", before)
    reads = []
    raw = _db.engine.raw_connection()
    try:
        # Statistics, as a real database has them: the planner then knows how few rows are the coach's. VACUUM
        # first: earlier tests empty the tables with DELETE, and without autovacuum their dead rows would skew the
        # planner's costs (the plans then depended on which tests ran before).
        raw.dbapi_connection.autocommit = True
        raw.cursor().execute("VACUUM ANALYZE")
        raw.dbapi_connection.autocommit = False
        cursor = raw.cursor()
        for statement, parameters in captured:
            cursor.execute(LARGE_PRACTICE_PLANS)
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            reads.append((" ".join(statement.split()), _rows_read(plan[0]["Plan"])))
            raw.rollback()
    finally:
        raw.close()
    return reads


def _patient_with_alerts(make_user, coach, *, escalated: bool = False):
    patient = make_user(Role.PATIENT, coach=coach)
    make_plan(patient, coach, [make_item(title=f"Stretch {patient.id}")], start_date=date.today() - timedelta(days=20))
    now = utcnow()
    _db.session.add_all(
        [
            Alert(patient_id=patient.id, kind=AlertKind.MISSED_CHECKINS, summary="m", open_key=1, opened_at=now),
            Alert(
                patient_id=patient.id,
                kind=AlertKind.PAIN_WORSENING,
                summary="p",
                open_key=1,
                opened_at=now,
                escalated_at=now if escalated else None,
            ),
            Alert(
                patient_id=patient.id,
                kind=AlertKind.RED_FLAG,
                severity=0,
                summary="r",
                open_key=None,
                opened_at=now - timedelta(days=3),
                resolved_at=now - timedelta(days=2),
            ),
        ]
    )
    _db.session.commit()
    return patient


def _practice_ballast(coach, count: int) -> None:
    """``count`` patients of ``coach``'s clinic and panel, each with the alerts of ``_patient_with_alerts``, written
    in two multi-row INSERTs (the ORM would take minutes)."""
    now = utcnow()
    patient_ids = _db.session.scalars(
        insert(User).returning(User.id),
        [
            {
                "email": f"ballast{n}@example.org",
                "name": f"Ballast Patient {n}",
                "role": Role.PATIENT,
                "clinic_id": coach.clinic_id,
                "coach_id": coach.id,
                "password_hash": "!",
            }
            for n in range(count)
        ],
    ).all()
    alerts = []
    for patient_id in patient_ids:
        alerts += [
            {
                "patient_id": patient_id,
                "kind": AlertKind.MISSED_CHECKINS,
                "summary": "m",
                "open_key": 1,
                "opened_at": now,
            },
            {
                "patient_id": patient_id,
                "kind": AlertKind.PAIN_WORSENING,
                "summary": "p",
                "open_key": 1,
                "opened_at": now,
            },
            {
                "patient_id": patient_id,
                "kind": AlertKind.RED_FLAG,
                "severity": 0,
                "summary": "r",
                "open_key": None,
                "opened_at": now - timedelta(days=3),
                "resolved_at": now - timedelta(days=2),
            },
        ]
    _db.session.execute(insert(Alert), alerts)
    _db.session.commit()


def test_coach_pages_read_only_the_coachs_patients(make_user, coach, login_as):
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("reads rows through PostgreSQL's EXPLAIN ANALYZE")
    for _ in range(2):
        _patient_with_alerts(make_user, coach)
    # Another coach of the same clinic, with a patient whose alert was escalated: every coach of the
    # clinic sees that one in their inbox.
    other = make_user(Role.COACH)
    _patient_with_alerts(make_user, other, escalated=True)
    # A practice, not three patients: on a few dozen rows a walk of every patient or open alert costs the planner as
    # little as the coach's index, and which one it picks then depends on statistics, not on the statement.
    _practice_ballast(other, PRACTICE_BALLAST)
    client = login_as(coach)
    for path in PAGES:
        client.get(path)  # the first visit's one-off reads (the kept statements are built)
    small = {path: _page_reads(client, path) for path in PAGES}

    # The practice grows around the coach: more of the other coach's patients, each with open alerts
    # and a recently resolved red flag.
    for _ in range(PRACTICE_GROWTH):
        _patient_with_alerts(make_user, other)
    large = {path: _page_reads(client, path) for path in PAGES}

    for path in PAGES:
        grown = [
            (statement, before, after)
            for (statement, before), (_same, after) in zip(small[path], large[path], strict=True)
            if after > before
        ]
        assert not grown, f"{path}: statements reading more as the practice grows: {[(s, b, a) for s, b, a in grown]}"
