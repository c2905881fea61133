"""`flask library import FILE`: load library items from a JSON file, all or nothing."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from portal.exercises.library import ImportFileError, import_library, read_json_file
from portal.exercises.translations import (
    TRANSLATED_LANGUAGES,
    import_translations,
    read_translation_files,
    translations_dir,
)
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


@library_group.command("import-translations")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--locale", default="es", show_default=True, type=click.Choice(TRANSLATED_LANGUAGES))
@with_appcontext
def import_translations_command(directory: Path | None, locale: str) -> None:
    """Add or update the items' text in LOCALE from DIRECTORY (exercise.json, posture.json, diet.json,
    matched by slug; default: the starter translations). Nothing is written when any entry is bad."""
    directory = directory or translations_dir(locale)
    try:
        files = read_translation_files(locale, directory)
    except ImportFileError as error:
        raise click.ClickException(str(error)) from error
    if not files:
        raise click.ClickException(f"No exercise.json, posture.json or diet.json in {directory}.")
    result = import_translations(files, locale)
    if not result.ok:
        db.session.rollback()
        for problem in result.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(
            f"{len(result.problems)} problem(s) found in {directory}; nothing was imported. Fix them and run the import again."
        )
    db.session.commit()
    click.echo(
        f"Translations ({locale}) import done: {result.created} added, {result.updated} updated, "
        f"{result.unchanged} unchanged."
    )
