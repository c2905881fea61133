"""Audit the pinned requirements with pip-audit; fail on any finding not accepted with a reason.

Usage: python scripts/audit_dependencies.py [--strict] [--report FILE]

Accepted findings live in `.pip-audit-accepted`, one per line: the vulnerability
id (PYSEC-..., GHSA-..., CVE-...), a space, and why it does not affect the
portal. A line without a reason is an error. A finding is accepted when its id
or one of its aliases is listed.

When the vulnerability service cannot be reached (an offline machine), pip-audit
reports the packages as "could not be audited": that is printed loudly, and
fails the run only with --strict (or PIP_AUDIT_STRICT=1), so an offline
developer is not blocked while a CI with network access can insist.
`--report FILE` reads a saved `pip-audit -f json` report instead of running it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess  # runs pip-audit from this virtualenv, no shell  # nosec B404
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACCEPTED_FILE = ROOT / ".pip-audit-accepted"
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9-]+$")


@dataclass
class Outcome:
    findings: list[str]
    unaudited: list[str]
    unused_acceptances: list[str]


def read_accepted(text: str) -> dict[str, str]:
    """{id: reason} from the accepted-findings file; raises ValueError on a bad line."""
    accepted: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        vuln_id, _, reason = line.partition(" ")
        if not _ID.match(vuln_id):
            raise ValueError(f"line {number}: {vuln_id!r} is not a vulnerability id")
        if len(reason.strip()) < 10:
            raise ValueError(f"line {number}: {vuln_id} needs a reason (why it does not affect the portal)")
        accepted[vuln_id.upper()] = reason.strip()
    return accepted


def evaluate(report: dict, accepted: dict[str, str]) -> Outcome:
    findings, unaudited, used = [], [], set()
    for dep in report.get("dependencies", []):
        if dep.get("skip_reason"):
            unaudited.append(f"{dep.get('name')} {dep.get('version', '')}".strip())
            continue
        for vuln in dep.get("vulns", []):
            ids = {vuln.get("id", "").upper(), *(alias.upper() for alias in vuln.get("aliases", []))}
            matched = ids & accepted.keys()
            if matched:
                used |= matched
                continue
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            findings.append(f"{dep['name']} {dep['version']}: {vuln.get('id')} (fixed in: {fixes})")
    return Outcome(findings, unaudited, sorted(accepted.keys() - used))


def run_pip_audit() -> dict:
    args = [sys.executable, "-m", "pip_audit", "--progress-spinner", "off", "-f", "json"]
    for name in REQUIREMENTS:
        args += ["-r", str(ROOT / name)]
    result = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603 - fixed arguments  # nosec B603
    try:
        return json.loads(result.stdout)
    except ValueError:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit("pip-audit did not produce a report (see above)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", default=os.environ.get("PIP_AUDIT_STRICT") == "1")
    parser.add_argument("--report", type=Path, help="a saved `pip-audit -f json` report")
    parser.add_argument("--accepted", type=Path, default=ACCEPTED_FILE)
    options = parser.parse_args(argv)
    try:
        accepted = read_accepted(options.accepted.read_text(encoding="utf-8") if options.accepted.exists() else "")
    except ValueError as error:
        print(f"{options.accepted.name}: {error}")
        return 2
    report = json.loads(options.report.read_text()) if options.report else run_pip_audit()
    outcome = evaluate(report, accepted)
    status = 0
    if outcome.findings:
        print("Vulnerable dependencies (upgrade the pin, or accept with a reason in .pip-audit-accepted):")
        print("\n".join(f"  {line}" for line in outcome.findings))
        status = 1
    if outcome.unaudited:
        print(
            f"WARNING: {len(outcome.unaudited)} dependencies could not be audited "
            "(is the PyPI vulnerability service reachable?): "
            + ", ".join(outcome.unaudited[:8])
            + (" ..." if len(outcome.unaudited) > 8 else "")
        )
        if options.strict:
            status = status or 1
    if outcome.unused_acceptances:
        print("Note: accepted findings that no longer apply (remove them): " + ", ".join(outcome.unused_acceptances))
    if status == 0:
        audited = len(report.get("dependencies", [])) - len(outcome.unaudited)
        print(f"pip-audit: {audited} pinned dependencies audited, no unaccepted findings.")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
