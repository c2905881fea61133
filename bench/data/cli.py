"""The generator's command line: `python -m bench.data --patients N --days D [--seed S]`.

Runs against the app that portal.app.create_app() builds from the environment
(DATABASE_URL and the rest, as for `flask`), outside the app's own commands.
"""

from __future__ import annotations

import click
from flask.cli import ScriptInfo, with_appcontext

from bench.data.generator import BenchDataError, generate
from bench.data.people import EMAIL_DOMAIN
from bench.data.writer import Counts
from portal.app import create_app
from portal.demo import run_all


@click.command("bench-data")
@click.option("--patients", type=click.IntRange(1, 1_000_000), default=10_000, show_default=True)
@click.option("--days", type=click.IntRange(1, 3650), default=180, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True, help="Random seed (same seed, same data).")
@with_appcontext
def bench_data_command(patients: int, days: int, seed: int) -> None:
    """Fill the database with a large, realistic data set for load tests."""
    run_all()  # clinics, library and demo accounts first (idempotent)
    try:
        counts = generate(patients, days, seed=seed)
    except BenchDataError as error:
        raise click.ClickException(str(error)) from error
    report(counts)


def report(counts: Counts) -> None:
    for table, n in counts.rows.items():
        click.echo(f"  {table:<16} {n:>12,}")
    rate = counts.total / counts.seconds if counts.seconds else 0
    click.echo(f"Wrote {counts.total:,} rows in {counts.seconds:.1f} s ({rate:,.0f} rows/s).")
    click.echo(f"Generated users sign in with the demo password; emails end in @{EMAIL_DOMAIN}.")


def main() -> None:
    # with_appcontext builds the app through the ScriptInfo, as `flask` would.
    bench_data_command.main(prog_name="python -m bench.data", obj=ScriptInfo(create_app=create_app))
