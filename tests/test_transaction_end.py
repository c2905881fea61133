"""How a request's transaction ends: COMMIT when it only read (so PostgreSQL keeps its
prepared statements), a rollback whenever something written was not committed."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from config import TestingConfig
from portal.auth.models import Clinic
from portal.extensions import db as _db
from tests.dbutil import is_postgres
from tests.plan_factories import make_item, make_plan


@contextmanager
def transaction_ends():
    """The names of the engine's transaction ends (commit, rollback) inside the block, in order."""
    ends: list[str] = []

    def on_commit(conn):  # noqa: ARG001 - SQLAlchemy's signature
        ends.append("commit")

    def on_rollback(conn):  # noqa: ARG001
        ends.append("rollback")

    engine = _db.engine
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    try:
        yield ends
    finally:
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)


def test_a_page_that_only_reads_ends_with_commit(patient, patient_client, db):
    make_plan(patient, items=[make_item(kind="exercise")])
    patient_client.get("/me/")
    with transaction_ends() as ends:
        assert patient_client.get("/me/").status_code == 200
    assert ends == ["commit"]


def test_a_request_that_wrote_and_did_not_commit_is_not_committed_at_its_end(app, db):
    before = db.session.scalar(select(func.count(Clinic.id)))
    with app.test_request_context("/"):
        db.session.add(Clinic(name="Half-written", city="Nowhere", phone="(817) 555-0100", timezone="America/Chicago"))
        db.session.flush()  # written, never committed: the request failed after this
        with transaction_ends() as ends:
            app.do_teardown_request(None)
        assert ends == []
        db.session.rollback()
    assert db.session.scalar(select(func.count(Clinic.id))) == before


def test_changes_never_flushed_are_not_stored_at_the_end_of_a_request(app, db, clinic):
    with app.test_request_context("/"):
        db.session.get(Clinic, clinic.id).city = "Changed but never saved"
        with transaction_ends() as ends:
            app.do_teardown_request(None)
        assert ends == []
        db.session.rollback()
    assert db.session.get(Clinic, clinic.id).city == "Arlington"


def test_a_request_that_raised_is_not_committed(app, db, clinic):
    with app.test_request_context("/"):
        db.session.get(Clinic, clinic.id)  # a read: the transaction is open
        with transaction_ends() as ends:
            app.do_teardown_request(RuntimeError("the view failed"))
        assert ends == []


def test_a_request_that_committed_its_writes_and_read_again_ends_with_commit(app, db):
    with app.test_request_context("/"):
        db.session.add(Clinic(name="Saved", city="Plano", phone="(972) 555-0100", timezone="America/Chicago"))
        db.session.commit()
        db.session.scalar(select(func.count(Clinic.id)))  # a read after the commit
        with transaction_ends() as ends:
            app.do_teardown_request(None)
        assert ends == ["commit"]


@pytest.mark.skipif(
    not is_postgres(TestingConfig.SQLALCHEMY_DATABASE_URI), reason="prepared statements are PostgreSQL's"
)
def test_postgres_keeps_a_pages_prepared_statements_from_one_request_to_the_next(patient, patient_client, db):
    make_plan(patient, items=[make_item(kind="exercise")])
    # Earlier tests may leave several connections in the pool, which hands them out in turn:
    # start from an empty pool so every request runs on one connection, as in a sync worker.
    db.session.close()
    db.engine.dispose()
    used = set()

    def on_checkout(dbapi_connection, record, proxy):  # noqa: ARG001 - SQLAlchemy's signature
        used.add(dbapi_connection)

    event.listen(db.engine, "checkout", on_checkout)
    try:
        for _ in range(8):  # psycopg prepares a statement the sixth time it runs on a connection
            assert patient_client.get("/me/").status_code == 200
    finally:
        event.remove(db.engine, "checkout", on_checkout)
    db.session.rollback()  # the test's own connection back to the pool before reading the others
    prepared = 0
    for dbapi_connection in used:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        prepared += cursor.fetchone()[0]
        cursor.close()
        dbapi_connection.commit()
    assert prepared >= 5
