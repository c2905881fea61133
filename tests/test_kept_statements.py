"""Kept statements capture nothing of the request that first builds them.

A statement kept by the app (``KeptStatement``, the navigation badges) is built once and run
for every later request with its values bound. Each is built here under two clocks (different
days everywhere), for two different signed-in users, on the database the suite runs on (the
suite runs on SQLite and PostgreSQL): its SQL and every literal value in it must be the same.
A builder reading the day, the user or anything else of the request fails this test.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from flask_login import login_user
from sqlalchemy import literal

from config import TestingConfig
from portal.app import create_app
from portal.auth.models import Role
from portal.care.models import Plan
from portal.extensions import db as _db
from portal.navigation import NAV
from portal.sqlutil import KeptStatement
from portal.state import portal_state
from portal.timeutil import local_today

ROOT = Path(__file__).resolve().parent.parent
CLOCKS = (datetime(2026, 3, 20, 17, 0, tzinfo=UTC), datetime(2026, 7, 4, 3, 30, tzinfo=UTC))


def _kept_statements() -> list[tuple[str, KeptStatement]]:
    found = {}
    for path in sorted((ROOT / "portal").rglob("*.py")):
        if "static" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    for name, module in list(sys.modules.items()):
        if name.startswith("portal."):
            for attr, value in vars(module).items():
                if isinstance(value, KeptStatement):
                    found[id(value)] = (f"{name}.{attr}", value)
    return sorted(found.values(), key=lambda pair: pair[0])


KEPT = _kept_statements()


def _compiled(built) -> tuple[str, dict] | None:
    """The SQL and the literal values of what a builder returned (ORDER BY terms in a SELECT)."""
    if built is None:
        return None
    statement = _db.select(literal(1)).order_by(*built) if isinstance(built, tuple) else built
    compiled = statement.compile(dialect=_db.engine.dialect)
    return str(compiled), dict(compiled.params)


@pytest.fixture
def under_each(app, make_user, make_clinic) -> Callable[[Callable[[], object]], Iterator]:
    """Build ``build()`` under each (clock, signed-in user) pair, yielding the compiled results."""
    far = make_clinic(name="Far Clinic", timezone="Pacific/Auckland")
    users = (
        make_user(Role.COACH, language="en"),
        make_user(Role.COACH, language="es", clinic_id=far.id, timezone="Pacific/Auckland"),
    )

    def run(build: Callable[[], object]) -> Iterator:
        for clock, user in zip(CLOCKS, users, strict=True):
            with time_machine.travel(clock, tick=False), app.test_request_context("/"):
                login_user(user)
                yield _compiled(build())

    return run


def _differences(results: list) -> str | None:
    """None when both builds agree, else what differs: the SQL, or the literal values by name."""
    first, second = results
    if first == second:
        return None
    if first is None or second is None or first[0] != second[0]:
        return f"the SQL differs:\n  {first and first[0]}\n  {second and second[0]}"
    values = {
        name: (first[1].get(name), second[1].get(name))
        for name in first[1].keys() | second[1].keys()
        if first[1].get(name) != second[1].get(name)
    }
    return f"literal values differ (first build, second build): {values}"


@pytest.mark.parametrize(("name", "kept"), KEPT, ids=[name for name, _kept in KEPT])
def test_a_kept_statement_is_the_same_whatever_the_request(name, kept, under_each):
    assert kept.variants, f"{name} declares no variant"
    for variant in kept.variants:
        problem = _differences(list(under_each(lambda variant=variant: kept.build(*variant))))
        assert problem is None, f"{name}{variant} captured something of the request:\n{problem}"


def test_every_badge_is_the_same_whatever_the_request(app, under_each):
    providers = portal_state(app).badge_providers
    assert set(providers) == {item.badge for items in NAV.values() for item in items if item.badge}
    for badge, build in providers.items():
        for role in Role:
            problem = _differences(list(under_each(lambda build=build, role=role: build(str(role)))))
            assert problem is None, f"badge {badge} for a {role} captured something of the request:\n{problem}"


def test_the_check_finds_a_captured_day(under_each):
    """The check itself: a statement that freezes the first request's day is caught."""

    def frozen_day():
        return _db.select(Plan.id).where(Plan.start_date <= local_today("America/Chicago"))

    assert _differences(list(under_each(frozen_day))) is not None


def test_a_kept_statement_refuses_an_undeclared_variant(app):
    kept = KeptStatement(lambda role: _db.select(literal(role)), variants=[("coach",)])
    with app.app_context():
        assert kept("coach") is kept("coach")
        with pytest.raises(ValueError, match="not one of its declared variants"):
            kept(42)


def test_each_app_keeps_its_own_statements(app, database_url):
    kept = KeptStatement(lambda: _db.select(literal(1)))
    other = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)
    try:
        with app.app_context():
            mine = kept()
        with other.app_context():
            theirs = kept()
            assert theirs is kept()
        assert mine is not theirs
    finally:
        with other.app_context():
            _db.engine.dispose()
