"""scripts/mutation_report.py: the per-module score of `make mutation`, one module at a time, and the accepted
equivalents that no longer hold."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mutation_report", ROOT / "scripts" / "mutation_report.py")
report = importlib.util.module_from_spec(_spec)
sys.modules["mutation_report"] = report  # dataclasses look their module up here
_spec.loader.exec_module(report)


def _meta(mutants: Path, module: str, codes: dict[str, int | None]) -> None:
    path = mutants / "portal" / "care" / f"{module}.py.meta"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"exit_code_by_key": codes}), encoding="utf-8")


def test_scores_killed_over_all_but_the_accepted_equivalents_per_module(tmp_path):
    _meta(
        tmp_path,
        "plans",
        {f"portal.care.plans.x_f__mutmut_{n}": 1 for n in range(1, 10)} | {"portal.care.plans.x_f__mutmut_10": 0},
    )
    accepted = {"portal.care.plans.x_f__mutmut_10": "equivalent", "portal.care.plans.x_f__mutmut_1": "stale"}
    (plans,) = report.score_modules(tmp_path, accepted)
    assert (plans.module, plans.total, plans.killed, plans.accepted, plans.survivors) == (
        "portal/care/plans.py",
        10,
        9,
        1,
        [],
    )
    assert plans.score == 100.0 and plans.raw == 90.0
    assert plans.killed_but_accepted == ["portal.care.plans.x_f__mutmut_1"]  # a test tells it apart: not equivalent


def test_one_module_is_scored_without_the_others_unchecked_mutants(tmp_path, monkeypatch, capsys):
    _meta(tmp_path, "plans", {"portal.care.plans.x_f__mutmut_1": 1})
    _meta(tmp_path, "dosing", {"portal.care.dosing.x_g__mutmut_1": None})
    accepted_file = tmp_path / "accepted.txt"
    accepted_file.write_text("portal.care.dosing.x_gone__mutmut_3 was equivalent\n", encoding="utf-8")
    monkeypatch.setattr(report, "ACCEPTED_FILE", accepted_file)
    assert report.main(["--mutants", str(tmp_path), "--module", "plans"]) == 0
    out = capsys.readouterr().out
    assert "portal/care/plans.py" in out and "dosing" not in out
    assert report.main(["--mutants", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL portal/care/dosing.py: 1 mutants not checked" in out
    assert "note: accepted mutant portal.care.dosing.x_gone__mutmut_3 no longer exists" in out
