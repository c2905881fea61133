"""Flask commands: seed-demo, create-user, mail retry, keys new/rotate, demo-code (the features add their own
groups from their init_app).

The benchmark's data generator is not one of them: it lives in bench/ and runs as
`python -m bench.data`, so production's command list holds only what production uses.
"""

from __future__ import annotations

import click
import pyotp
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal import crypto, jobs
from portal.auth import twofactor
from portal.auth.accounts import AccountError, create_account
from portal.auth.models import Clinic, Role
from portal.auth.passwords import password_problems
from portal.demo import DEMO_TOTP_SECRET, run_all
from portal.extensions import db
from portal.mail import retry_pending


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load the demo clinics, accounts and content (idempotent)."""
    run_all()
    click.echo("Demo data is in place. Log in as admin@example.com, coach@example.com or patient@example.com.")
    click.echo("Staff accounts ask for a two-step code: run `make demo-code` to get the current one.")


@click.command("create-user")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--email", required=True)
@click.option("--name", default="", help="Full name (defaults to the email's name part).")
@click.option("--clinic", "clinic_city", default=None, help="Clinic city, required for patients.")
@click.password_option("--password", help="Prompted for when not given.")
@with_appcontext
def create_user(role: str, email: str, name: str, clinic_city: str | None, password: str) -> None:
    """Create an account (for example the first admin)."""
    problems = password_problems(password, email=email)
    if problems:
        raise click.ClickException(" ".join(problems))
    clinic_id = None
    if clinic_city:
        clinic = db.session.scalar(db.select(Clinic).where(Clinic.city == clinic_city))
        if clinic is None:
            raise click.ClickException(f"No clinic in {clinic_city}.")
        clinic_id = clinic.id
    try:
        user = create_account(
            email=email, name=name or email.split("@")[0], role=role, clinic_id=clinic_id, password=password
        )
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {role} {user.email}.")


@click.group("mail")
def mail_group() -> None:
    """Outgoing email."""


@mail_group.command("retry")
@with_appcontext
def mail_retry() -> None:
    """Send the outbox's due messages now (emails, texts, notifications; the worker does it on its own)."""
    sent, failed = retry_pending()
    click.echo(f"Sent {sent} queued message(s); {failed} still failing.")


@click.group("keys")
def keys_group() -> None:
    """The data encryption key (DATA_ENCRYPTION_KEY) that protects authenticator secrets, and the web push key."""


@keys_group.command("new")
def keys_new() -> None:
    """Print a fresh random key, to put first in DATA_ENCRYPTION_KEY."""
    click.echo(crypto.new_key())


@keys_group.command("vapid")
def keys_vapid() -> None:
    """Print a fresh VAPID key for web push (VAPID_PRIVATE_KEY) and the public key browsers will see."""
    private = crypto.new_vapid_key()
    click.echo(f"VAPID_PRIVATE_KEY={private}")
    click.echo(f"# public key: {crypto.vapid_public_key(crypto.parse_vapid_key(private))}")


@keys_group.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Re-encrypt every stored secret with the first key of DATA_ENCRYPTION_KEY.

    Put the new key first (keep the old ones after it), run this on one server,
    then remove the old keys from every server.
    """
    try:
        count = twofactor.reencrypt_secrets()
    except crypto.EncryptionKeyError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Re-encrypted {count} stored secret(s) with the first key.")


@click.command("worker")
@click.option("--once", is_flag=True, help="Run every job once, then stop (instead of running on a schedule).")
@with_appcontext
def worker(once: bool) -> None:
    """Run the background jobs (the outbox, safety escalation, alert scans...) until stopped.

    `make run` starts it beside the web server; in production run it as its own service. Several workers may
    run at once: each job claims its work in the database, so nothing is sent or escalated twice.
    """
    app = current_app._get_current_object()
    if once:
        failed = [job.name for job in jobs.registered_jobs(app) if not jobs.run_job(app, job)]
        if failed:
            raise click.ClickException(f"Failed: {', '.join(failed)} (see the log).")
        click.echo(f"Ran {len(jobs.registered_jobs(app))} job(s) once.")
        return
    jobs.run_worker(app)


@click.command("demo-code")
def demo_code() -> None:
    """Print the current two-step sign-in code of the demo staff accounts."""
    click.echo(pyotp.TOTP(DEMO_TOTP_SECRET).now())


COMMANDS = [
    seed_demo,
    create_user,
    mail_group,
    keys_group,
    worker,
    demo_code,
]


def register_commands(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
