"""State lives on the app: importing a module registers nothing, serving pages changes no module
global, and two apps in one process share no registry or cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from config import TestingConfig
from portal.app import create_app
from portal.extensions import db as _db
from portal.navigation import register_badge
from portal.state import portal_state

ROOT = Path(__file__).resolve().parent.parent

# Every module-level dict, list and set of every loaded portal module (dunder names aside), copied.
SNAPSHOT = """
import copy, sys

def snapshot():
    found = {}
    for name, module in list(sys.modules.items()):
        if name != "portal" and not name.startswith("portal."):
            continue
        for attr, value in list(vars(module).items()):
            if not attr.startswith("__") and isinstance(value, (dict, list, set)):
                found[(name, attr)] = copy.copy(value)
    return found

def changed(before, after):
    return sorted(f"{name}.{attr}" for (name, attr), value in before.items() if after.get((name, attr)) != value)
"""


def _portal_modules() -> list[str]:
    modules = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        if "static" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def test_importing_a_module_registers_nothing_in_another():
    """No module fills another module's registry as it is imported: only init_app(app) registers."""
    script = SNAPSHOT + (
        "import importlib\n"
        f"problems = []\nfor name in {_portal_modules()!r}:\n"
        "    before = snapshot()\n"
        "    importlib.import_module(name)\n"
        "    problems += [f'importing {name} changed {what}' for what in changed(before, snapshot())]\n"
        "print('\\n'.join(problems))\nsys.exit(1 if problems else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_building_apps_and_serving_pages_changes_no_module_global(database_url):
    """Registries and caches fill on the app: two apps built and pages served leave every module global as it was."""
    script = SNAPSHOT + (
        "import importlib\n"
        f"for name in {_portal_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "before = snapshot()\n"
        "from config import TestingConfig\n"
        "from portal.app import create_app\n"
        "from portal.extensions import db\n"
        "for _ in range(2):\n"
        f"    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI={database_url!r})\n"
        "    client = app.test_client()\n"
        "    for path in ('/login', '/healthz', '/api/v1/openapi.json', '/api/v1/docs', '/nowhere'):\n"
        "        client.get(path, headers={'Accept-Language': 'es'})\n"
        "    with app.app_context():\n"
        "        db.engine.dispose()\n"
        "problems = changed(before, snapshot())\n"
        "print('\\n'.join(problems))\nsys.exit(1 if problems else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_apps_in_one_process_keep_separate_state(app, database_url, patient_client, clinic):
    other = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, SERVER_NAME="localhost")
    try:
        mine, theirs = portal_state(app), portal_state(other)
        assert mine is not theirs
        # Each app's features registered their own badges and lookups, in equal but separate registries.
        assert mine.badge_providers == theirs.badge_providers != {}
        assert mine.badge_providers is not theirs.badge_providers
        assert mine.plan_item_lookups == theirs.plan_item_lookups != []
        assert mine.plan_item_lookups is not theirs.plan_item_lookups

        # Pages served by one app fill its caches only.
        assert patient_client.get("/me/").status_code == 200
        assert mine.statements and mine.footer_clinics is not None
        assert theirs.statements == {} and theirs.footer_clinics is None

        # A registration on one app is not seen by the other.
        register_badge(other, "only_there", lambda user: None)
        assert "only_there" in theirs.badge_providers and "only_there" not in mine.badge_providers

        # Each app has its own OpenAPI document.
        assert other.extensions["flask-smorest"] is not app.extensions["flask-smorest"]
    finally:
        with other.app_context():
            _db.engine.dispose()
