"""Throwaway databases for test runs, so parallel or repeated runs never collide."""

from __future__ import annotations

import os
import uuid

import psycopg
from sqlalchemy.engine import make_url


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def create_postgres_database(base_url: str, prefix: str = "holistiq_test") -> str:
    """Create a fresh database next to the one in base_url; return its URL."""
    url = make_url(base_url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_admin_dsn(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(db_url: str) -> None:
    url = make_url(db_url)
    with psycopg.connect(_admin_dsn(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def _admin_dsn(url) -> str:
    admin = url.set(drivername="postgresql", database=os.environ.get("TEST_ADMIN_DATABASE", "test"))
    return admin.render_as_string(hide_password=False)
