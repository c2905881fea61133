"""The flask commands: seed-demo (idempotent), create-user (prompts for the password), and
the list production shows."""

from __future__ import annotations

from portal.auth.models import Clinic, Role, User, email_lookup
from portal.auth.passwords import verify_password
from portal.extensions import db as _db


def _row_counts() -> dict[str, int]:
    return {
        table.name: _db.session.scalar(_db.select(_db.func.count()).select_from(table))
        for table in _db.metadata.sorted_tables
        if table.name != "audit_event"  # seeding is not audited, but keep the check about content
    }


def test_seed_demo_is_complete_and_idempotent(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = _row_counts()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert _row_counts() == counts

    assert {c.city for c in db.session.scalars(db.select(Clinic))} == {"Arlington", "Irving", "Plano"}
    patients = db.session.scalars(db.select(User).where(User.role == Role.PATIENT)).all()
    assert len(patients) >= 8
    assert len({p.coach_id for p in patients}) == 2 and len({p.clinic_id for p in patients}) == 3
    for email in ("admin@example.com", "coach@example.com", "patient@example.com"):
        user = db.session.scalar(email_lookup(email))
        assert verify_password(user.password_hash, app.config["DEMO_PASSWORD"]), email
    assert counts["checkin"] > 0 and counts["plan"] >= len(patients) and counts["library_item"] >= 57
    # Each clinic has its on-call contact (once, however often the seed runs), with a phone that passes the form.
    for clinic in db.session.scalars(db.select(Clinic)):
        assert [contact.phone[:6] for contact in clinic.on_call_contacts] == [clinic.phone[:6]]


def test_create_user_prompts_for_the_password(app, db, clinic):
    runner = app.test_cli_runner()
    password = "quiet-meadow-compass-19"
    result = runner.invoke(
        args=["create-user", "--role", "admin", "--email", "Head.Admin@Clinic.example", "--name", "Head Admin"],
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password" in result.output  # it asked
    user = db.session.scalar(email_lookup("head.admin@clinic.example"))
    assert user.role == Role.ADMIN and verify_password(user.password_hash, password)

    again = runner.invoke(
        args=["create-user", "--role", "admin", "--email", "head.admin@clinic.example"],
        input=f"{password}\n{password}\n",
    )
    assert again.exit_code != 0 and "already exists" in again.output

    weak = runner.invoke(
        args=["create-user", "--role", "coach", "--email", "weak@clinic.example"], input="password1234\npassword1234\n"
    )
    assert weak.exit_code != 0 and "too common" in weak.output
    assert db.session.scalar(email_lookup("weak@clinic.example")) is None


def test_the_command_list_leaves_out_the_benchmark_generator(app):
    # The large-data generator is dev-only (python -m bench.data); production's
    # `flask --help` lists only the commands production runs.
    result = app.test_cli_runner().invoke(args=["--help"])
    assert result.exit_code == 0, result.output
    assert "seed-demo" in result.output and "alerts" in result.output
    assert "bench" not in result.output
