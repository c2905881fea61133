"""Check a bulk FHIR export against its database: `python -m bench.fhir_check DIR [--sample N]`.

For each NDJSON file: its line count against what the database holds, and a
random sample of lines (plus the first and the last) validated with the same
``fhir.resources`` models, the official R4 JSON schema and the US Core checks as the test
suite (tests/fhir_conformance.py), each reference resolving to a
resource of the export. Reads the files by seeking, so a 2 GB Observation file
costs a second. Runs against the app that portal.app.create_app() builds from
the environment (DATABASE_URL and the rest), as `python -m bench.data` does.
"""

from __future__ import annotations

import json
import operator
import os
import random
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

import click
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy import func

from portal.app import create_app
from portal.auth.models import Role, User
from portal.care.models import CheckIn, ItemLog, Plan, PlanItem, WeeklyOutcome
from portal.care.onboarding_models import Consent, Goal, GoalRating, Intake
from portal.extensions import db
from portal.fhir import resources
from portal.fhir.export import RESOURCE_TYPES, include_messages
from portal.messaging.models import Message
from tests.fhir_conformance import validate_resource
from tests.test_fhir import references

# Files small enough to read whole for their ids: what the sampled resources refer to.
REFERABLE = ("Patient", "Goal", "CarePlan", "Questionnaire")


@dataclass
class FileReport:
    kind: str
    lines: int
    expected: int
    size: int
    checked: int = 0
    problems: list[str] = field(default_factory=list)


def expected_counts() -> dict[str, int]:
    """How many resources of each type the database should have given."""
    patients = db.select(User.id).where(User.role == Role.PATIENT).scalar_subquery()
    # One Observation per check-in value that is there, and one red-flag screen per check-in.
    values = reduce(operator.add, (func.count(getattr(CheckIn, column)) for column, *_rest in resources.CHECKIN_CODES))
    values = values + func.count(CheckIn.id)
    # And one per patient, plan and day with sessions done.
    session_days = (
        db.select(ItemLog.patient_id, ItemLog.day, PlanItem.plan_id)
        .join(PlanItem, PlanItem.id == ItemLog.plan_item_id)
        .where(ItemLog.patient_id.in_(patients), ItemLog.sessions_done > 0)
        .group_by(ItemLog.patient_id, ItemLog.day, PlanItem.plan_id)
        .subquery()
    )

    def count(model) -> int:
        return db.session.scalar(db.select(func.count()).where(model.patient_id.in_(patients)))

    return {
        "Patient": db.session.scalar(db.select(func.count()).where(User.role == Role.PATIENT)),
        "Consent": count(Consent),
        # A plan's goals text, and each activity the patient named (PSFS).
        "Goal": db.session.scalar(
            db.select(func.count()).where(Plan.patient_id.in_(patients), func.coalesce(Plan.goals, "") != "")
        )
        + count(Goal),
        "CarePlan": db.session.scalar(db.select(func.count()).where(Plan.patient_id.in_(patients))),
        "Observation": db.session.scalar(db.select(values).where(CheckIn.patient_id.in_(patients)))
        + db.session.scalar(db.select(func.count()).select_from(session_days)),
        "Questionnaire": 3,  # the PEG, the intake and the PSFS
        # PEG weeks, intakes and PSFS ratings.
        "QuestionnaireResponse": count(WeeklyOutcome) + count(Intake) + count(GoalRating),
        "Communication": (
            db.session.scalar(db.select(func.count()).where(Message.patient_id.in_(patients)))
            if include_messages()
            else 0
        ),
    }


def count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            lines += chunk.count(b"\n")
    return lines


def sample_lines(path: Path, n: int, rng: random.Random) -> list[bytes]:
    """The first and last lines and ``n`` more from random places in the file."""
    size = path.stat().st_size
    if size == 0:
        return []
    found = []
    with path.open("rb") as handle:
        found.append(handle.readline())
        handle.seek(max(0, size - (1 << 16)))
        found.append(handle.read().rstrip(b"\n").rsplit(b"\n", 1)[-1])
        for _ in range(n):
            handle.seek(rng.randrange(size))
            handle.readline()  # the rest of the line the offset fell in
            line = handle.readline()
            if line:
                found.append(line)
    return found


def referable_ids(directory: Path) -> set[str]:
    ids = set()
    for kind in REFERABLE:
        with (directory / f"{kind}.ndjson").open(encoding="utf-8") as handle:
            for line in handle:
                ids.add(f"{kind}/{json.loads(line)['id']}")
    return ids


def check(directory: Path, *, sample: int = 2000, seed: int = 19) -> list[FileReport]:
    """One report per resource type; a report with problems means the export is wrong."""
    expected = expected_counts()
    ids = referable_ids(directory)
    rng = random.Random(seed)
    reports = []
    for kind in RESOURCE_TYPES:
        path = directory / f"{kind}.ndjson"
        report = FileReport(kind, count_lines(path), expected[kind], path.stat().st_size)
        if report.lines != report.expected:
            report.problems.append(f"{report.lines} lines, the database has {report.expected}")
        for line in sample_lines(path, sample, rng):
            resource = json.loads(line)
            if resource.get("resourceType") != kind:
                report.problems.append(f"a {resource.get('resourceType')} in {path.name}")
            try:
                validate_resource(resource)
            except ValueError as error:  # pydantic's ValidationError is a ValueError
                report.problems.append(f"{kind}/{resource.get('id')}: {error}")
            for ref in references(resource):
                if ref not in ids:
                    report.problems.append(f"{kind}/{resource.get('id')}: {ref} does not resolve")
            report.checked += 1
        reports.append(report)
    return reports


@click.command("fhir-check")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sample", type=click.IntRange(0, 1_000_000), default=2000, show_default=True)
@with_appcontext
def fhir_check_command(directory: Path, sample: int) -> None:
    """Check the NDJSON files in DIRECTORY against the database."""
    reports = check(directory, sample=sample)
    click.echo(f"{'resource type':<22} {'lines':>10} {'database':>10} {'MB':>9} {'validated':>9}")
    for r in reports:
        click.echo(f"{r.kind:<22} {r.lines:>10,} {r.expected:>10,} {r.size / 1e6:>9.1f} {r.checked:>9,}")
        for problem in r.problems[:10]:
            click.echo(f"  ! {problem}")
    if any(r.problems for r in reports):
        raise click.ClickException("the export does not match the database")
    click.echo("Every line count matches the database; every sampled resource validates and its references resolve.")


def main() -> None:
    os.environ.setdefault("FLASK_APP", "wsgi")
    fhir_check_command.main(prog_name="python -m bench.fhir_check", obj=ScriptInfo(create_app=create_app))


if __name__ == "__main__":
    main()
