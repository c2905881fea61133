"""The worker: each package registers its jobs on the app, `flask worker` runs them on a schedule, and two workers
running at once never send the same email or text twice (real worker processes, the real SMTP test server, the
fake SMS provider)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import TestingConfig
from portal.app import create_app
from portal.auth.accounts import create_account
from portal.auth.models import Clinic, OnCallContact, Role, email_lookup
from portal.care.alerts import open_alert
from portal.care.models import Alert, AlertKind
from portal.care.red_flags import Tier
from portal.extensions import db as _db
from portal.jobs import Job, register_job, registered_jobs, run_job
from portal.mail import OutboundEmail, queue_email
from portal.messaging.texts import queue_text
from tests.dbutil import create_postgres_database, drop_postgres_database, is_postgres
from tests.servers import prepare_database
from tests.sms_server import SENDER, SID, TOKEN, start_fake_provider
from tests.smtp_server import shared_server

ROOT = Path(__file__).resolve().parent.parent


def test_each_package_registers_its_jobs_on_its_own_app():
    first, second = create_app(TestingConfig), create_app(TestingConfig, OUTBOX_SECONDS=3)
    names = [job.name for job in registered_jobs(first)]
    assert {"outbox", "missed_checkins"} <= set(names)
    assert {job.name: job.seconds for job in registered_jobs(second)}["outbox"] == 3
    register_job(first, "extra", lambda: None, seconds=5)
    assert "extra" not in [job.name for job in registered_jobs(second)]  # no state shared between apps
    with pytest.raises(ValueError, match="already registered"):
        register_job(first, "extra", lambda: None, seconds=5)


def test_a_failing_round_is_logged_rolled_back_and_does_not_stop_the_worker(app, db, caplog):
    def broken() -> None:
        queue_email("someone@example.org", "Subject", "Body")
        _db.session.flush()
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="portal.jobs"):
        assert run_job(app, Job("broken", broken, 60)) is False
    assert "Job broken failed" in caplog.text
    assert _db.session.scalar(_db.select(_db.func.count(OutboundEmail.id))) == 0  # its writes were rolled back
    assert run_job(app, Job("fine", lambda: None, 60)) is True


# --- real worker processes ---------------------------------------------------------------


@pytest.fixture
def worker_db(tmp_path) -> Iterator[str]:
    """A database of its own that worker processes and this test share (PostgreSQL when the suite runs on it)."""
    base = TestingConfig.SQLALCHEMY_DATABASE_URI
    url = create_postgres_database(base, prefix="holistiq_worker") if is_postgres(base) else None
    yield url or f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    if url:
        drop_postgres_database(url)


class WorkerProcess:
    """`flask worker` as the Makefile and a production service start it, with settings in its environment
    (``module="tests.frozen_flask"`` runs it with the clock set to the FROZEN_NOW setting)."""

    def __init__(self, worker_db: str, module: str = "flask", **env: str) -> None:
        smtp = shared_server()
        self.log = tempfile.NamedTemporaryFile(prefix="holistiq-worker-", suffix=".log", delete=False)  # noqa: SIM115
        environment = {
            **os.environ,
            "PORTAL_ENV": "development",
            "DATABASE_URL": worker_db,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp.port),
            "MAIL_USERNAME": smtp.username,
            "MAIL_PASSWORD": smtp.password,
            "LOG_LEVEL": "INFO",
            **env,
        }
        environment.pop("TEST_DATABASE_URL", None)
        self.process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [sys.executable, "-m", module, "--app", "wsgi", "worker"],
            cwd=ROOT,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def wait_started(self, timeout: float = 120) -> bool:
        """Whether the worker said it runs its jobs within ``timeout`` (imports are slow on a busy machine)."""
        return bool(wait_until(lambda: "Worker started" in self.output(), timeout=timeout))

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()
        Path(worker.log.name).unlink(missing_ok=True)


def wait_until(condition, timeout: float, step: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


def test_two_workers_deliver_the_outbox_each_email_and_text_once(worker_db, workers):
    smtp = shared_server()
    smtp.clear()
    sms = start_fake_provider()
    addresses = [f"person{n}@example.org" for n in range(6)]
    numbers = [f"+1214555010{n}" for n in range(6)]

    def queue_all() -> None:
        for address, number in zip(addresses, numbers, strict=True):
            queue_email(address, "Hello", "A queued email.")
            queue_text(number, "Holistiq Coach: a queued text.")

    prepare_database(worker_db, queue_all)
    sms_settings = {"SMS_API_URL": sms.url, "SMS_ACCOUNT_SID": SID, "SMS_AUTH_TOKEN": TOKEN, "SMS_FROM": SENDER}
    try:
        workers.extend(WorkerProcess(worker_db, OUTBOX_SECONDS="1", **sms_settings) for _ in range(2))
        assert all(worker.wait_started() for worker in workers), "\n".join(w.output()[-1500:] for w in workers)
        received = wait_until(
            lambda: len(smtp.messages()) >= len(addresses) and len(sms.messages()) >= len(numbers), timeout=60
        )
        assert received, "\n".join(worker.output()[-1500:] for worker in workers)
        time.sleep(3)  # several more rounds of both workers: nothing is sent again
        assert sorted(message["To"] for message in smtp.messages()) == sorted(addresses)
        assert sorted(r.form["To"] for r in sms.messages()) == sorted(numbers)
    finally:
        sms.server.shutdown()
        sms.server.server_close()
    for worker in workers:
        assert worker.stop() == 0, worker.output()[-1500:]
        assert "Worker started: outbox every 1 s" in worker.output()
        assert "Worker stopped" in worker.output()


def test_two_workers_escalate_an_unacknowledged_emergency_within_two_minutes_exactly_once(worker_db, workers):
    """SAFETY_ESCALATION_MINUTES=1: the Emergency alert waits a minute unacknowledged, then the on-call contact and
    the clinic's admin get one escalation email each, from whichever worker claimed it first."""
    smtp = shared_server()
    smtp.clear()

    def clinic_with_people() -> None:
        clinic = Clinic(name="Plano", city="Plano", phone="(972) 555-0100", timezone="America/Chicago")
        _db.session.add(clinic)
        _db.session.flush()
        _db.session.add(OnCallContact(clinic_id=clinic.id, name="Dr. Night", email="night@example.org", phone="-"))
        create_account(email="admin@example.org", name="A", role=Role.ADMIN, clinic_id=clinic.id, password=None)
        coach = create_account(email="coach@example.org", name="C", role=Role.COACH, clinic_id=clinic.id, password=None)
        _db.session.flush()
        create_account(
            email="p@example.org", name="P", role=Role.PATIENT, clinic_id=clinic.id, coach_id=coach.id, password=None
        )

    def emergency() -> None:
        open_alert(_db.session.scalar(email_lookup("p@example.org")), AlertKind.RED_FLAG, "r", tier=Tier.EMERGENCY)

    prepare_database(worker_db, clinic_with_people)
    settings = {"SAFETY_ESCALATION_MINUTES": "1", "ESCALATION_CHECK_SECONDS": "5", "OUTBOX_SECONDS": "2"}
    workers.extend(WorkerProcess(worker_db, **settings) for _ in range(2))
    # The schedulers run before the alert opens, as in the practice: the two minutes are the scheduler's, not
    # the time a busy machine takes to start two Python processes.
    assert all(worker.wait_started() for worker in workers), "\n".join(worker.output()[-1500:] for worker in workers)
    prepare_database(worker_db, emergency)
    opened = time.monotonic()

    def escalations() -> list:
        return [message for message in smtp.messages() if str(message["Subject"]).startswith("Escalated")]

    # At once (the outbox job): the coach and the on-call contact are told of the Emergency; nothing escalated yet.
    assert wait_until(lambda: len(smtp.messages()) >= 2, timeout=30), workers[0].output()[-1500:]
    assert escalations() == []
    assert wait_until(lambda: len(escalations()) >= 2, timeout=120 - (time.monotonic() - opened), step=1), "\n".join(
        worker.output()[-1500:] for worker in workers
    )
    assert time.monotonic() - opened < 120
    time.sleep(12)  # two more escalation rounds of each worker: nothing is escalated or sent again
    assert sorted(str(message["To"]) for message in escalations()) == ["admin@example.org", "night@example.org"]
    immediate = sorted(str(m["To"]) for m in smtp.messages() if not str(m["Subject"]).startswith("Escalated"))
    assert immediate == ["coach@example.org", "night@example.org"]
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=worker_db)
    with app.app_context():
        alert = _db.session.scalar(_db.select(Alert))
        assert alert.escalated_at is not None and alert.acknowledged_at is None
        _db.session.remove()
        _db.engine.dispose()
    for worker in workers:
        assert worker.stop() == 0
