"""The package structure: packages import downward only, never each other, never inside a function.

Layers, bottom to top (see the README's architecture section). A package may import
its own layer or lower ones; two packages of one layer never import each other (no
cycle of any length), and nothing imports a higher layer.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORTAL = ROOT / "portal"

# A module may import inside a function only with this marker and a reason on the line.
ALLOW_MARKER = "# import-in-function:"

LAYERS = {
    # base: no feature knowledge
    "extensions": 0,
    "timeutil": 0,
    "navigation": 1,
    "forms": 0,
    "security": 0,
    "csvutil": 0,
    "crypto": 0,
    "state": 0,
    "formrender": 0,
    "jsonbody": 0,
    "jobs": 0,
    "sqlutil": 1,
    "snapshot_reads": 1,
    "pagination": 1,
    "errors": 1,
    "health": 1,
    "audit": 1,
    "mail": 1,
    "outbox": 1,
    "push": 1,
    "formatting": 1,
    "urlcache": 1,
    "i18n": 1,
    "mediastore": 1,
    # accounts, sessions, access
    "auth": 2,
    "clinics": 3,
    # content: the library
    "exercises": 4,
    # core: the care domain
    "care": 5,
    # features
    "messaging": 6,
    "patients": 7,
    "coaching": 7,
    # edges
    "admin": 8,
    "api": 8,
    "fhir": 8,
    "outcomes": 8,
    # the app and its commands, and dev-only seeding
    "models": 9,
    "demo": 9,
    "cli": 10,
    "app": 11,
}


def _package_of(path: Path) -> str:
    parts = path.relative_to(PORTAL).with_suffix("").parts
    return parts[0]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        if target == "portal":  # "from portal import audit" names a module
            return [f"portal.{alias.name}" for alias in node.names]
        return [target]
    return []


def _portal_files() -> list[Path]:
    return sorted(p for p in PORTAL.rglob("*.py") if "static" not in p.parts)


def package_imports() -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) -> the places it happens."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in _portal_files():
        if path == PORTAL / "__init__.py":
            continue
        source = _package_of(path)
        module = _module_name(path)
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            for target in _imported_modules(node, module, path.name == "__init__.py"):
                if not target.startswith("portal.") or target == "portal":
                    continue
                package = target.split(".")[1]
                if package != source:
                    edges.setdefault((source, package), []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return edges


def test_every_portal_package_has_a_layer():
    packages = {_package_of(p) for p in _portal_files() if p != PORTAL / "__init__.py"}
    assert packages - set(LAYERS) == set(), "give each new package a layer in LAYERS (and in the README)"


def test_packages_import_only_their_own_layer_or_lower():
    upward = [
        f"{a} (layer {LAYERS[a]}) imports {b} (layer {LAYERS[b]}) at {places[0]}"
        for (a, b), places in package_imports().items()
        if LAYERS.get(b, 0) > LAYERS.get(a, 0)
    ]
    assert upward == []


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for a, b in package_imports():
        graph.setdefault(a, set()).add(b)
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                cycles.append(" -> ".join([*path, nxt]))
            elif nxt not in path and nxt > path[0]:  # each cycle reported once, from its smallest member
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert cycles == []


def function_level_imports(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom) and ALLOW_MARKER not in lines[node.lineno - 1]:
                    found.append(f"{path}:{node.lineno}")
    return sorted(set(found))


def test_no_import_inside_a_function(tmp_path):
    assert function_level_imports(_portal_files()) == []


def test_the_function_import_check_finds_one_and_honours_a_reason(tmp_path):
    module = tmp_path / "sample.py"
    module.write_text(
        f"def late():\n    import json\n\n\ndef optional():\n    import yaml  {ALLOW_MARKER} optional dependency\n"
    )
    found = function_level_imports([module])
    assert len(found) == 1 and found[0].endswith("sample.py:2")


def test_every_module_imports_on_its_own():
    """Each portal module imports first in a clean module table: no hidden import-order dependency."""
    modules = [_module_name(p) for p in _portal_files()]
    script = (
        "import importlib, sys\n"
        f"failed = []\nfor name in {modules!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'portal' or m.startswith('portal.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n        importlib.import_module(name)\n"
        "    except Exception as error:\n        failed.append(f'{name}: {error!r}')\n"
        "print('\\n'.join(failed))\nsys.exit(1 if failed else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
