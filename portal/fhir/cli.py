"""`flask fhir export`: the practice's FHIR bulk export (NDJSON per resource type), e.g. nightly from cron."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from portal.fhir.export import bulk_export, export_directory


@click.group("fhir")
def fhir_group() -> None:
    """FHIR R4 export."""


@fhir_group.command("export")
@click.option(
    "--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Folder to write into"
)
@with_appcontext
def export_command(out: Path | None) -> None:
    """Write every patient's record as NDJSON files, one per resource type (admins download them)."""
    started = time.monotonic()
    directory = out or export_directory()
    counts = bulk_export(directory)
    total = sum(counts.values())
    click.echo(f"Wrote {total} resources to {directory} in {time.monotonic() - started:.1f} s: {counts}")
