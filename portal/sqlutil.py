"""Small SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import date
from typing import Any

from flask import g, has_request_context
from sqlalchemy import Integer, bindparam, cast, event, func, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db
from portal.state import portal_state

# The databases the portal runs on, by SQLAlchemy's dialect names.
DIALECTS = ("sqlite", "postgresql")

# A Monday: day numbers counted from here put every Monday at a multiple of 7.
EPOCH = date(2000, 1, 3)

# "These patients" in a statement built once: the list of ids is bound per request, as
# ``{"patient_ids": [...]}``, and expanded into an IN list when the statement runs.
PATIENT_IDS = bindparam("patient_ids", expanding=True)


class KeptStatement:
    """The one way to keep a statement: built by ``build(*variant)`` on first use and kept by the app.

    The statements every page runs take their values as bound parameters (``bindparam``):
    building a SELECT and its cache key in SQLAlchemy costs more than PostgreSQL takes to run
    it, so each is built once per app (in ``portal_state().statements``; two apps share none)
    and only run after that. A kept statement must therefore be the same whatever the request:
    ``build`` receives only one of the ``variants`` declared here (a role, a dialect name, a
    flag; never a user, a day or an id: those are bound when it runs), and
    tests/test_kept_statements.py builds every one under two clocks, two users and both
    databases and fails if its SQL or a literal value differs.

    Declare it beside the rule that binds its values: ``_name = KeptStatement(_build_name)``.
    The builder stays a plain function (mutmut leaves decorated functions out, and the SQL is
    part of the care rules); under ``make mutation`` each test starts with none kept, so every
    test runs the statement its (mutated) code builds now.
    """

    __slots__ = ("build", "variants")

    def __init__(self, build: Callable[..., Any], *, variants: Iterable[tuple] = ((),)) -> None:
        self.build = build
        self.variants = tuple(variants)

    def __call__(self, *variant: Any) -> Any:
        statements = portal_state().statements
        key = (self, variant)
        try:
            return statements[key]
        except KeyError:
            if variant not in self.variants:
                raise ValueError(f"{self.build.__name__}: {variant!r} is not one of its declared variants") from None
            statement = statements[key] = self.build(*variant)
            return statement

    def __repr__(self) -> str:
        return f"KeptStatement({self.build.__module__}.{self.build.__qualname__})"


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
    Temporary sort and grouping tables stay in memory: a whole-practice report (Outcomes) sorts
    hundreds of thousands of rows, and writing them to temporary files waited on the disk several
    times longer than the sorting took.
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
            cursor.execute("PRAGMA temp_store=MEMORY")
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


_WRITE = re.compile(r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+[\"`]?(\w+)", re.IGNORECASE)


def forget_on_write(app, table: str, forget: Callable[[], None]) -> None:
    """Call ``forget()`` whenever a transaction that wrote to ``table`` commits in this app.

    Caches of rows (the footer's clinics, library texts) are dropped by the write itself,
    whatever path it took (a service, a form, a command, a bulk statement, a raw one): see
    ``track_writes``.
    """
    portal_state(app).forgetters.setdefault(table, []).append(forget)


_WRITTEN = "portal_written"  # a connection's info key: the tables its open transaction has written


def uncommitted_tables(conn) -> set[str]:
    """The tables ``conn``'s transaction has written and not committed yet (noted by ``track_writes``):
    another connection would not see those rows."""
    return set(conn.info.get(_WRITTEN, ()))


def track_writes(app, engine) -> None:
    """Note the tables each connection's transaction writes, and run their ``forget_on_write``
    callbacks when it commits (nothing when it rolls back)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _note_table(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001 - SQLAlchemy's
        found = _WRITE.match(statement)
        if found is not None:
            conn.info.setdefault(_WRITTEN, set()).add(found.group(1).lower())

    @event.listens_for(engine, "commit")
    def _committed(conn):
        written = conn.info.pop(_WRITTEN, None)
        if written:
            forgetters = portal_state(app).forgetters
            for table in written:
                for forget in forgetters.get(table, ()):
                    forget()

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn):
        # A connection the database dropped cannot be asked for its info; a note left on it can
        # only make a later commit forget a cache once too often, never serve a stale row.
        with suppress(SQLAlchemyError):
            conn.info.pop(_WRITTEN, None)
