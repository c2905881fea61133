"""The embedded SQLite database runs in write-ahead-log mode, so pages read while a check-in is written,
and keeps its temporary sort tables in memory."""

from __future__ import annotations

from sqlalchemy import text

from config import TestingConfig
from portal.app import create_app
from portal.extensions import db


def test_a_sqlite_file_database_uses_write_ahead_logging(tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'portal.db'}")
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
            assert connection.execute(text("PRAGMA temp_store")).scalar() == 2  # MEMORY
        db.engine.dispose()
