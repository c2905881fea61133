"""The static checks of `make test-static` fail on real findings (offline: canned reports)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("audit_dependencies", ROOT / "scripts" / "audit_dependencies.py")
audit_deps = importlib.util.module_from_spec(_spec)
sys.modules["audit_dependencies"] = audit_deps  # dataclasses look their module up here
_spec.loader.exec_module(audit_deps)

REPORT = {
    "dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {
            "name": "jinja2",
            "version": "2.10",
            "vulns": [
                {
                    "id": "PYSEC-2019-217",
                    "aliases": ["CVE-2019-10906", "GHSA-462w-v97r-4m45"],
                    "fix_versions": ["2.10.1"],
                }
            ],
        },
    ]
}


def _run(tmp_path, report: dict, accepted: str = "", *extra: str) -> int:
    (tmp_path / "report.json").write_text(json.dumps(report))
    (tmp_path / "accepted").write_text(accepted)
    return audit_deps.main(
        ["--report", str(tmp_path / "report.json"), "--accepted", str(tmp_path / "accepted"), *extra]
    )


def test_unaccepted_finding_fails(tmp_path, capsys):
    assert _run(tmp_path, REPORT) == 1
    assert "jinja2 2.10: PYSEC-2019-217 (fixed in: 2.10.1)" in capsys.readouterr().out


@pytest.mark.parametrize("vuln_id", ["PYSEC-2019-217", "GHSA-462w-v97r-4m45", "cve-2019-10906"])
def test_finding_accepted_with_a_reason_by_id_or_alias_passes(tmp_path, vuln_id):
    assert _run(tmp_path, REPORT, f"# comment\n{vuln_id} the sandbox is not used: templates are ours\n") == 0


def test_acceptance_without_a_reason_is_refused(tmp_path, capsys):
    assert _run(tmp_path, REPORT, "PYSEC-2019-217\n") == 2
    assert "needs a reason" in capsys.readouterr().out


def test_unaudited_dependencies_warn_and_fail_only_when_strict(tmp_path, capsys):
    report = {"dependencies": [{"name": "flask", "version": "3.1.3", "skip_reason": "Dependency not found on PyPI"}]}
    assert _run(tmp_path, report) == 0
    assert "could not be audited" in capsys.readouterr().out
    assert _run(tmp_path, report, "", "--strict") == 1


def test_stale_acceptances_are_pointed_out(tmp_path, capsys):
    assert _run(tmp_path, {"dependencies": []}, "GHSA-aaaa-bbbb-cccc fixed upstream long ago\n") == 0
    assert "no longer apply" in capsys.readouterr().out


def test_the_accepted_findings_file_is_valid():
    audit_deps.read_accepted((ROOT / ".pip-audit-accepted").read_text())


def test_bandit_fails_on_a_real_finding(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import subprocess\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n")
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-c", str(ROOT / "pyproject.toml"), str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "B602" in result.stdout
