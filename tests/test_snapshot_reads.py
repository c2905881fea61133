"""Report statements run side by side on PostgreSQL, all reading the request's snapshot."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from config import TestingConfig
from portal import snapshot_reads
from portal.audit import AuditEvent
from portal.auth.models import Clinic
from portal.snapshot_reads import read_all
from tests.dbutil import is_postgres

ON_POSTGRES = is_postgres(TestingConfig.SQLALCHEMY_DATABASE_URI)
needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="side by side on PostgreSQL only")

CLINICS = text("SELECT name FROM clinic ORDER BY name")
BACKEND = text("SELECT pg_backend_pid() AS pid")


def _names(rows) -> list[str]:
    return [row["name"] for row in rows]


def test_each_statement_gets_its_own_rows_in_order(db, make_clinic):
    make_clinic(name="Arlington")
    make_clinic(name="Plano")
    counted = text("SELECT COUNT(*) AS n FROM clinic WHERE name = :name")
    clinics, arlington, irving = read_all(
        [(CLINICS, {}), (counted, {"name": "Arlington"}), (counted, {"name": "Irving"})]
    )
    assert _names(clinics) == ["Arlington", "Plano"]
    assert arlington[0]["n"] == 1
    assert irving[0]["n"] == 0


@needs_postgres
def test_on_postgresql_the_statements_run_on_other_connections_than_the_request(db):
    own = db.session.execute(BACKEND).scalar_one()
    first, second = read_all([(BACKEND, {}), (BACKEND, {})])
    pids = {first[0]["pid"], second[0]["pid"]}
    assert own not in pids
    assert len(pids) == 2


@needs_postgres
def test_every_read_sees_the_snapshot_of_the_request_not_a_later_commit(db, make_clinic, monkeypatch):
    make_clinic(name="Arlington")
    db.session.execute(text("SELECT 1"))  # the request's transaction is under way
    read = snapshot_reads._read_in_snapshot

    def commit_elsewhere_first(engine, snapshot, statement, values):
        # Another user's write lands after the report began but before this read starts.
        with engine.begin() as other:
            other.execute(
                text(
                    "INSERT INTO clinic (name, city, address, phone, timezone) VALUES (:n, 'Irving', '', '', 'America/Chicago')"
                ),
                {"n": f"Irving {values['k']}"},
            )
        return read(engine, snapshot, statement, values)

    monkeypatch.setattr(snapshot_reads, "_read_in_snapshot", commit_elsewhere_first)
    first, second = read_all([(CLINICS.bindparams(), {"k": 1}), (CLINICS.bindparams(), {"k": 2})])
    assert _names(first) == ["Arlington"]
    assert _names(second) == ["Arlington"]
    db.session.rollback()
    assert db.session.query(Clinic).count() == 3  # the writes did land; the report read before them


@needs_postgres
def test_writes_not_committed_by_the_request_are_read_on_its_own_connection(db, make_clinic):
    make_clinic(name="Arlington")
    db.session.execute(
        text(
            "INSERT INTO clinic (name, city, address, phone, timezone) VALUES ('Plano', '', '', '', 'America/Chicago')"
        )
    )
    own = db.session.execute(BACKEND).scalar_one()
    clinics, backend = read_all([(CLINICS, {}), (BACKEND, {})])
    assert _names(clinics) == ["Arlington", "Plano"]
    assert backend[0]["pid"] == own
    db.session.rollback()


@needs_postgres
def test_a_failing_statement_fails_the_report_and_returns_its_connection(db):
    db.session.execute(text("SELECT 1"))  # the request holds its own connection
    pool = db.engine.pool
    before = pool.checkedout()
    with pytest.raises(Exception, match="division by zero"):
        read_all([(CLINICS, {}), (text("SELECT 1 / 0"), {})])
    assert pool.checkedout() == before


@needs_postgres
def test_a_write_to_a_table_no_statement_reads_keeps_them_side_by_side(db, make_clinic):
    # A signed-in user's activity stamp is written once a minute, before the page reads anything.
    make_clinic(name="Arlington")
    db.session.add(AuditEvent(action="session.seen"))
    db.session.flush()
    own = db.session.execute(BACKEND).scalar_one()
    clinics, backend = read_all([(CLINICS, {}), (BACKEND, {})])
    assert _names(clinics) == ["Arlington"]
    assert backend[0]["pid"] != own
    db.session.rollback()
