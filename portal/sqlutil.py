"""Small SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Integer, cast, event, func, literal
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db

# A Monday: day numbers counted from here put every Monday at a multiple of 7.
EPOCH = date(2000, 1, 3)


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


def day_number(column: Any):
    """Whole days from EPOCH to a DATE column, as an integer SQL expression."""
    if dialect_name() == "postgresql":
        return column - literal(EPOCH)
    return cast(func.julianday(column) - func.julianday(EPOCH.isoformat()), Integer)


def week_number(column: Any):
    """Monday-based week index of a DATE column (see week_start)."""
    return day_number(column) // 7


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
