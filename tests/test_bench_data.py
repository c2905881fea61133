"""`python -m bench.data` at a tiny size: the rows are valid and the pages work for generated users."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.data import EMAIL_DOMAIN, bench_data_command, generate
from portal.auth.models import Role, User
from portal.care.models import Alert, CheckIn, ItemLog, Plan, PlanItem, WeeklyOutcome
from portal.messaging.models import Message
from portal.timeutil import local_today
from tests.conftest import login

ROOT = Path(__file__).resolve().parent.parent
PATIENTS, DAYS = 7, 21


def _run(app, *args: str):
    """The command against the test app, as `python -m bench.data` runs it against the configured one."""
    return app.test_cli_runner().invoke(bench_data_command, args=list(args))


@pytest.fixture
def generated(app, db):
    result = _run(app, "--patients", str(PATIENTS), "--days", str(DAYS))
    assert result.exit_code == 0, result.output
    assert "rows/s" in result.output
    return result


def _bench_users(db, role: str) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.email.like(f"%@{EMAIL_DOMAIN}"), User.role == role).order_by(User.id)
        )
    )


def test_generates_the_requested_people_and_plans(generated, db):
    patients = _bench_users(db, Role.PATIENT)
    coaches = _bench_users(db, Role.COACH)
    assert len(patients) == PATIENTS
    assert len(coaches) == 1  # one coach per 200 patients, at least one
    assert {p.coach_id for p in patients} == {coaches[0].id}
    assert all(p.clinic_id is not None for p in patients)
    # Every patient: exactly one active plan of 6-10 items, all from the library.
    per_plan = db.session.execute(
        select(Plan.patient_id, func.count(PlanItem.id))
        .join(PlanItem, PlanItem.plan_id == Plan.id)
        .where(Plan.patient_id.in_([p.id for p in patients]), Plan.status == "active")
        .group_by(Plan.patient_id)
    ).all()
    assert len(per_plan) == PATIENTS
    assert all(6 <= n <= 10 for _, n in per_plan)


def test_check_ins_and_logs_are_consistent(generated, db):
    patients = {p.id: p for p in _bench_users(db, Role.PATIENT)}
    today = local_today(next(iter(patients.values())).tz)
    checkins = db.session.scalars(select(CheckIn).where(CheckIn.patient_id.in_(patients))).all()
    assert checkins, "no check-ins generated"
    # Days inside the window, values on their scales, at most one per patient and day.
    assert all(today - timedelta(days=DAYS - 1) <= c.day <= today for c in checkins)
    assert all(0 <= c.pain <= 10 and 0 <= c.stiffness <= 10 and c.spasm_episodes >= 0 for c in checkins)
    assert all(c.sleep_quality is None or 1 <= c.sleep_quality <= 5 for c in checkins)
    assert len({(c.patient_id, c.day) for c in checkins}) == len(checkins)
    # Gaps: nobody checks in every single day of a realistic data set.
    assert len(checkins) < PATIENTS * DAYS
    # Item logs point at an item of the same patient's plan, one per item and day.
    owner = dict(db.session.execute(select(PlanItem.id, Plan.patient_id).join(Plan, Plan.id == PlanItem.plan_id)).all())
    logs = db.session.execute(select(ItemLog.plan_item_id, ItemLog.patient_id, ItemLog.day)).all()
    assert logs
    assert all(owner[item_id] == patient_id for item_id, patient_id, _ in logs)
    assert len({(i, d) for i, _, d in logs}) == len(logs)
    assert db.session.scalar(select(func.count()).select_from(WeeklyOutcome)) > 0


def test_alerts_and_messages_follow_the_rules(generated, db):
    patients = {p.id: p for p in _bench_users(db, Role.PATIENT)}
    alerts = db.session.scalars(select(Alert).where(Alert.patient_id.in_(patients))).all()
    # Open alerts carry open_key=1 and at most one per patient and kind; resolved ones have a resolver.
    open_keys = [(a.patient_id, a.kind) for a in alerts if a.resolved_at is None]
    assert all(a.open_key == 1 for a in alerts if a.resolved_at is None)
    assert all(a.open_key is None and a.resolved_by_id for a in alerts if a.resolved_at is not None)
    assert len(open_keys) == len(set(open_keys))
    messages = db.session.scalars(select(Message).where(Message.patient_id.in_(patients))).all()
    for m in messages:
        coach_id = patients[m.patient_id].coach_id
        assert {m.sender_id, m.recipient_id} == {m.patient_id, coach_id}


def test_ids_continue_after_the_generated_rows(generated, db, make_user):
    # Ids were assigned by the generator; new rows must not collide with them (PostgreSQL sequences).
    before = db.session.scalar(select(func.max(User.id)))
    user = make_user(Role.PATIENT)
    assert user.id > before


def test_refuses_to_generate_twice(generated, app):
    result = _run(app, "--patients", "2", "--days", "2")
    assert result.exit_code != 0
    assert "already holds bench data" in result.output


def test_bad_sizes_are_refused(app):
    result = _run(app, "--patients", "0")
    assert result.exit_code == 2
    with pytest.raises(ValueError):
        generate(1, 0)


def test_pages_render_for_generated_patient_and_coach(generated, app, db):
    password = app.config["DEMO_PASSWORD"]
    patient = _bench_users(db, Role.PATIENT)[0]
    coach = _bench_users(db, Role.COACH)[0]
    patient_client = app.test_client()
    assert login(patient_client, patient, password=password).status_code == 302
    for path in ("/me/", "/me/plan", "/me/checkin", "/me/progress", "/me/progress/data.json", "/me/history"):
        response = patient_client.get(path)
        assert response.status_code == 200, path
    coach_client = app.test_client()
    assert login(coach_client, coach, password=password).status_code == 302
    for path in ("/coach/", f"/coach/patients/{patient.id}", "/coach/alerts"):
        response = coach_client.get(path)
        assert response.status_code == 200, path
    roster = coach_client.get("/coach/").get_data(as_text=True)
    assert patient.name in roster


def test_runs_as_a_module_outside_the_flask_commands():
    result = subprocess.run(
        [sys.executable, "-m", "bench.data", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "python -m bench.data" in result.stdout and "--patients" in result.stdout
