"""Small SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, TypeVar

from flask import g, has_request_context
from sqlalchemy import Integer, bindparam, cast, event, func, literal
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db
from portal.state import portal_state

# A Monday: day numbers counted from here put every Monday at a multiple of 7.
EPOCH = date(2000, 1, 3)

# "These patients" in a statement built once: the list of ids is bound per request, as
# ``{"patient_ids": [...]}``, and expanded into an IN list when the statement runs.
PATIENT_IDS = bindparam("patient_ids", expanding=True)

Builder = TypeVar("Builder", bound=Callable)


def built_once(build: Builder) -> Builder:
    """Decorator: the statement ``build(*args)`` returns is built on first use and kept by the app.

    The statements every page runs take their values as bound parameters (``bindparam``):
    building a SELECT and its cache key in SQLAlchemy costs more than PostgreSQL takes to run
    it. They are kept in the app's state (``portal_state().statements``), so two apps share none.
    ``forget_built_statements`` drops them (the tests do before each test, so every test, and
    every mutant under ``make mutation``, runs the statement its code builds now).
    The care rules' modules wrap a plain function (``name = built_once(_build_name)``) rather
    than decorate it: mutmut leaves decorated functions out, and their SQL is part of the rules.
    """

    @wraps(build)
    def kept(*args):
        statements = portal_state().statements
        key = (build, args)
        statement = statements.get(key)
        if statement is None:
            statement = statements[key] = build(*args)
        return statement

    return kept  # type: ignore[return-value]


def forget_built_statements() -> None:
    """Drop the current app's kept statements."""
    portal_state().statements.clear()


def escape_like(text: str) -> str:
    """Text with LIKE's wildcards made literal (use with ``escape="\\"``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_text(column: Any, text: str) -> Any:
    """Case-insensitive "column contains text", where % and _ in the text are literal characters."""
    return func.lower(column).like(f"%{escape_like(text.lower())}%", escape="\\")


def dialect_name() -> str:
    return db.session.get_bind().dialect.name


def insert_for(model: Any):
    """An INSERT supporting ``on_conflict_do_nothing/do_update`` for the current database.

    Inserting with ON CONFLICT lets a unique key decide races between two
    requests (double submit, two scans) without failing the whole transaction.
    Add ``.returning(Model.id)`` to learn whether a row was inserted: rowcount is
    not reliable for INSERT ... RETURNING on every driver.
    """
    if dialect_name() == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def day_number(column: Any, dialect: str | None = None):
    """Whole days from EPOCH to a DATE column, as an integer SQL expression (for ``dialect``,
    by default the current database's)."""
    if (dialect or dialect_name()) == "postgresql":
        return column - literal(EPOCH)
    return cast(func.julianday(column) - func.julianday(EPOCH.isoformat()), Integer)


def week_number(column: Any, dialect: str | None = None):
    """Monday-based week index of a DATE column (see week_start)."""
    return day_number(column, dialect) // 7


def week_of(day: date) -> int:
    """The week number of a date, computed in Python exactly as week_number does in SQL."""
    return (day - EPOCH).days // 7


def tune_sqlite(engine) -> None:
    """Settings for every new connection of a SQLite file database (the embedded default).

    Write-ahead logging lets pages read while a check-in is being written (the default
    journal locks readers out during a write), and with it ``synchronous=NORMAL`` still
    never corrupts the file; the busy timeout makes a second writer wait instead of failing.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):  # noqa: ARG001 - SQLAlchemy's signature
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=5000")
        finally:
            cursor.close()


def _writes(statement: str) -> bool:
    return statement.lstrip()[:6].upper() != "SELECT"


def end_reads_with_commit(app, engine) -> None:
    """End a request's transaction with COMMIT when it wrote nothing, instead of a rollback.

    psycopg forgets every statement it has prepared whenever a transaction is rolled back,
    and a page that only read ended that way: PostgreSQL parsed and planned each of its
    statements again on every request, three quarters of its CPU per page. For a transaction
    that wrote nothing a COMMIT does exactly what a rollback does, and keeps them. Anything
    written and not committed (a failed request) is still rolled back when the session ends.
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001 - SQLAlchemy's
        if has_request_context() and _writes(statement):
            g.uncommitted_write = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _transaction_ended(conn):  # noqa: ARG001 - SQLAlchemy's signature
        if has_request_context():
            g.pop("uncommitted_write", None)

    @app.teardown_request
    def _commit_reads(error: BaseException | None) -> None:
        session = db.session()  # the request's own Session behind the scoped proxy
        if error is not None or g.get("uncommitted_write") or not session.in_transaction():
            return
        if session.new or session.dirty or session.deleted:
            return  # changes never flushed are not this request's to store either
        session.commit()
