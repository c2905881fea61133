"""Score mutmut's results over the care rules, per module; fail below the bar.

Usage: python scripts/mutation_report.py [--min-score 90] [--mutants DIR] [--module NAME ...]

Reads the ``*.py.meta`` files mutmut 3 writes under ``mutants/`` (one per mutated
module, mapping each mutant to the exit code of its test run). A mutant counts as
killed when its tests failed or timed out. Survivors (and mutants no test reached)
must be equivalent ones listed in ``mutation-accepted.txt``, one per line: the
mutant's name, a space, and why it cannot change behaviour. A line without a
reason is an error.

A module's score is the share of its scored mutants that were killed; equivalent
mutants are not scored (no test can kill a mutant that behaves like the original),
so the score is killed / (all mutants - accepted equivalents). The raw share of
all mutants killed is printed beside it.

Exits non-zero when any module scores under ``--min-score`` percent, when any
survivor is not accepted, or when mutants were left unchecked (an interrupted run).
``--module plans`` (repeatable) scores only those modules of ``portal/care/``: a run
pointed at one module leaves the others' mutants unchecked.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACCEPTED_FILE = ROOT / "mutation-accepted.txt"

KILLED_CODES = {1, 3, 24, -24, 36, 152, 255}  # test failure, pytest internal error, timeouts
SURVIVED_CODES = {0, 5, 33}  # tests passed, or no test reached the mutant


@dataclass
class ModuleScore:
    module: str
    total: int = 0
    killed: int = 0
    accepted: int = 0
    survivors: list[str] = field(default_factory=list)
    killed_but_accepted: list[str] = field(default_factory=list)
    unchecked: int = 0

    @property
    def scored(self) -> int:
        """Mutants that count: all but the accepted equivalents."""
        return self.total - self.accepted

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.scored if self.scored else 100.0

    @property
    def raw(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0


def read_accepted(path: Path) -> dict[str, str]:
    accepted: dict[str, str] = {}
    if not path.exists():
        return accepted
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            raise SystemExit(f"{path.name}:{number}: {name} has no reason; say why the mutant is equivalent")
        accepted[name] = reason.strip()
    return accepted


def score_modules(mutants_dir: Path, accepted: dict[str, str], only: set[str] | None = None) -> list[ModuleScore]:
    scores = []
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        module = str(meta.relative_to(mutants_dir)).removesuffix(".meta")
        if only and Path(module).stem not in only:
            continue
        result = ModuleScore(module)
        exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        for name, code in sorted(exit_codes.items()):
            result.total += 1
            if code in KILLED_CODES:
                result.killed += 1
                if name in accepted:  # a test tells it apart: it was never equivalent, or its number now names another
                    result.killed_but_accepted.append(name)
            elif code is None:
                result.unchecked += 1
            elif name in accepted:
                result.accepted += 1
            else:  # survived, untested, or suspicious: a test gap until shown otherwise
                result.survivors.append(name)
        scores.append(result)
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-score", type=float, default=90.0)
    parser.add_argument("--mutants", type=Path, default=ROOT / "mutants")
    parser.add_argument("--module", action="append", help="score only this module of portal/care/ (repeatable)")
    args = parser.parse_args(argv)
    if not args.mutants.is_dir():
        print(f"No mutmut results in {args.mutants}: run `make mutation`.", file=sys.stderr)
        return 2
    accepted = read_accepted(ACCEPTED_FILE)
    only = set(args.module or ())
    scores = score_modules(args.mutants, accepted, only)
    failed = False
    print(f"{'module':28} {'total':>6} {'killed':>7} {'equiv.':>7} {'survived':>9} {'score':>7} {'raw':>7}")
    for s in scores:
        print(
            f"{s.module:28} {s.total:6} {s.killed:7} {s.accepted:7} {len(s.survivors):9} {s.score:6.1f}% {s.raw:6.1f}%"
        )
    print("score = killed / (total - equivalent); raw = killed / total")
    for s in scores:
        if s.score < args.min_score:
            print(f"FAIL {s.module}: {s.score:.1f}% of scored mutants killed, under {args.min_score:.0f}%")
            failed = True
        if s.unchecked:
            print(f"FAIL {s.module}: {s.unchecked} mutants not checked (interrupted run?)")
            failed = True
        for name in s.survivors:
            print(f"SURVIVED {name}  (see it: .venv/bin/mutmut show {name})")
            failed = True
    seen = {
        name for meta in args.mutants.rglob("*.py.meta") for name in json.loads(meta.read_text())["exit_code_by_key"]
    }
    stale = {name for name in set(accepted) - seen if not only or name.split(".")[2] in only}
    for name in sorted(stale):
        print(f"note: accepted mutant {name} no longer exists; remove it from {ACCEPTED_FILE.name}")
    for s in scores:
        for name in s.killed_but_accepted:
            print(f"note: accepted mutant {name} was killed; remove it from {ACCEPTED_FILE.name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
