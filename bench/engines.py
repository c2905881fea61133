"""The benchmark's databases: a fresh one per data set on PostgreSQL or on an SQLite file.

The portal runs on both (PostgreSQL in production, the embedded SQLite file by default),
so every data set is measured on each. This module creates, queries and removes them;
bench/bench.py only asks for one by engine and data set name.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

ENGINES = ("postgresql", "sqlite")


class BenchDatabase:
    """One benchmark database; `url` is what the portal gets as DATABASE_URL."""

    engine = ""

    def __init__(self, set_name: str, url: str) -> None:
        self.set_name = set_name
        self.url = url
        # The bench's own reads and writes (user ids, table sizes), never the app's pool.
        self._sa = create_engine(self._sqlalchemy_url(), poolclass=NullPool)

    def _sqlalchemy_url(self) -> str:
        return self.url

    def rows(self, statement: str, **params) -> list[tuple]:
        with self._sa.connect() as conn:
            return [tuple(r) for r in conn.execute(text(statement), params)]

    def execute(self, statement: str, **params) -> None:
        with self._sa.begin() as conn:
            conn.execute(text(statement), params)

    def server_pids(self) -> list[int]:
        """Processes outside the app's workers that serve its queries (none for an embedded database)."""
        return []

    def settings(self) -> dict:
        """Engine settings worth recording next to the figures."""
        return {}

    def disk_mb(self) -> float:
        """The database's size on disk, in MB (tables, indexes, TOAST)."""
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError

    def kept_note(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        self._sa.dispose()


class PostgresDatabase(BenchDatabase):
    """<prefix>_<set> on the server in BENCH_PG_URL, dropped first if it exists: holistiq_bench_demo and
    holistiq_bench_reference for `make bench`, holistiq_bigbench_demo and holistiq_bigbench_large for
    `make bench-large` (BENCH_DB_PREFIX), so the two runs never drop each other's database, nor the
    test suite's."""

    engine = "postgresql"

    def __init__(self, set_name: str, server_url: str, prefix: str = "holistiq_bench") -> None:
        self.server_url = server_url
        self.dbname = f"{prefix}_{set_name}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.dbname)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))
            # SSD storage: random reads cost about as much as sequential ones. With the default
            # (4.0, tuned for spinning disks) the planner prefers hashing a whole table over a
            # few hundred index probes, and the roster's cost would grow with the practice.
            # Production should set the same (see bench/README.md).
            conn.execute(sql.SQL("ALTER DATABASE {} SET random_page_cost = 1.1").format(sql.Identifier(self.dbname)))
        super().__init__(set_name, f"{server_url.rsplit('/', 1)[0]}/{self.dbname}")

    def _sqlalchemy_url(self) -> str:
        # psycopg 3, as the portal's config picks for a bare postgresql:// URL.
        return "postgresql+psycopg://" + self.url.split("://", 1)[1]

    def server_pids(self) -> list[int]:
        """The PostgreSQL backends connected to this database: the app's pool."""
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (self.dbname,)
            ).fetchall()
        return [r[0] for r in rows]

    def settings(self) -> dict:
        return {
            "server_version": self.rows("SHOW server_version")[0][0],
            "random_page_cost": self.rows("SHOW random_page_cost")[0][0],
        }

    def disk_mb(self) -> float:
        return round(self.rows("SELECT pg_database_size(current_database())")[0][0] / 1e6, 1)

    def remove(self) -> None:
        self.close()
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.dbname)))

    def kept_note(self) -> str:
        return f"kept {self.url}"


class SqliteDatabase(BenchDatabase):
    """A file database in a new temporary folder, as the portal's default runs (one file, no server)."""

    engine = "sqlite"

    def __init__(self, set_name: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=f"holistiq-bench-{set_name}-"))
        self.path = self.folder / "bench.db"
        super().__init__(set_name, f"sqlite:///{self.path}")

    def settings(self) -> dict:
        # The portal switches the file to write-ahead logging when it connects (portal.sqlutil.tune_sqlite);
        # the mode is stored in the file, so reading it back shows what the pages ran with.
        return {
            "sqlite_version": self.rows("SELECT sqlite_version()")[0][0],
            "journal_mode": self.rows("PRAGMA journal_mode")[0][0],
            "file_mb": round(self.path.stat().st_size / 1e6, 1) if self.path.exists() else 0,
        }

    def disk_mb(self) -> float:
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        return round(sum(f.stat().st_size for f in files if f.exists()) / 1e6, 1)

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def kept_note(self) -> str:
        return f"kept {self.path} (DATABASE_URL={self.url})"


def create_database(engine: str, set_name: str, pg_server_url: str, prefix: str = "holistiq_bench") -> BenchDatabase:
    """A fresh, empty database for one data set on one engine (``prefix``: PostgreSQL's database name)."""
    if engine == "postgresql":
        return PostgresDatabase(set_name, pg_server_url, prefix)
    if engine == "sqlite":
        return SqliteDatabase(set_name)
    raise ValueError(f"unknown engine {engine!r}; use {' or '.join(ENGINES)}")


def parse_engines(value: str) -> list[str]:
    """BENCH_ENGINES: a comma-separated choice among ENGINES, in the order given."""
    engines = [e.strip().lower() for e in value.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise ValueError(f"BENCH_ENGINES={value!r}: choose from {', '.join(ENGINES)}")
    return list(dict.fromkeys(engines))
