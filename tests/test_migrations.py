"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from config import TestingConfig
from portal.app import create_app
from portal.extensions import db
from tests.dbutil import create_postgres_database, drop_postgres_database, is_postgres


def test_migrations_match_models(tmp_path):
    base = TestingConfig.SQLALCHEMY_DATABASE_URI
    url = (
        create_postgres_database(base, prefix="holistiq_migr")
        if is_postgres(base)
        else f"sqlite:///{tmp_path / 'm.sqlite3'}"
    )
    try:
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(context, db.metadata)
            db.engine.dispose()
        assert diff == [], f"models and migrations differ; run scripts/regen_migration.sh: {diff}"
    finally:
        if is_postgres(base):
            drop_postgres_database(url)
