"""`flask library import FILE`: load library items from a JSON file, all or nothing."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from portal.exercises.library import ImportFileError, import_library, read_json_file
from portal.extensions import db


@click.group("library")
def library_group() -> None:
    """The exercise, posture and nutrition library."""


@library_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def import_command(file: Path) -> None:
    """Add or update library items from FILE (JSON, matched by slug). Nothing is written when any entry is bad."""
    try:
        data = read_json_file(file)
    except ImportFileError as error:
        raise click.ClickException(str(error)) from error
    result = import_library(data)
    if not result.ok:
        db.session.rollback()
        for problem in result.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(
            f"{len(result.problems)} problem(s) found in {file}; nothing was imported. Fix them and run the import again."
        )
    db.session.commit()
    click.echo(f"Library import done: {result.created} added, {result.updated} updated, {result.unchanged} unchanged.")
