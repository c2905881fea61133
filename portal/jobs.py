"""Background jobs: a registry on the app that each package fills from its ``init_app``, and the worker that runs
them on a schedule (APScheduler) beside the web servers.

A job is a plain function run every N seconds inside a fresh app context. It must be safe to run in several
workers at once: each claims what it works on in the database (a conditional UPDATE or a lease), so two workers
never send or escalate the same thing twice. `flask worker` runs the scheduler until stopped; `flask worker --once`
runs every job once (cron, tests).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from portal.extensions import db
from portal.state import portal_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A job of the worker: ``run()`` does one round of work in an app context and commits it itself."""

    name: str
    run: Callable[[], object]
    seconds: int  # how often the worker runs it
    description: str = ""


def register_job(app: Flask, name: str, run: Callable[[], object], *, seconds: int, description: str = "") -> Job:
    """Add a job to the app's worker (from a package's ``init_app``). A name is registered once."""
    jobs = portal_state(app).jobs
    if name in jobs:
        raise ValueError(f"a job named {name!r} is already registered")
    if seconds < 1:
        raise ValueError("a job runs at most once a second")
    job = jobs[name] = Job(name, run, int(seconds), description)
    return job


def registered_jobs(app: Flask) -> list[Job]:
    """The app's jobs, in the order they were registered."""
    return list(portal_state(app).jobs.values())


def run_job(app: Flask, job: Job) -> bool:
    """One round of ``job`` in a fresh app context; True when it finished. Never raises: a failing round is
    logged and rolled back, and the next round runs as scheduled."""
    with app.app_context():
        try:
            job.run()
            return True
        except Exception:  # noqa: BLE001 - one failing round must not stop the worker
            log.exception("Job %s failed; it runs again in %s s", job.name, job.seconds)
            db.session.rollback()
            return False
        finally:
            db.session.remove()


def build_scheduler(app: Flask, scheduler_class: type = BlockingScheduler):
    """A scheduler running each registered job every ``seconds``, the first round at once. One round of a job at
    a time in this worker (``max_instances=1``); rounds missed while it was busy are run once, not piled up."""
    scheduler = scheduler_class(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
    for job in registered_jobs(app):
        scheduler.add_job(
            run_job,
            "interval",
            seconds=job.seconds,
            args=(app, job),
            id=job.name,
            name=job.name,
            next_run_time=datetime.now(UTC),
            misfire_grace_time=max(job.seconds, 30),
        )
    return scheduler


def run_worker(app: Flask) -> None:
    """Run the scheduler until SIGTERM or SIGINT (Ctrl-C); a round in progress finishes first."""
    scheduler = build_scheduler(app)

    def stop(signum, frame) -> None:  # noqa: ARG001
        log.info("Worker stopping (signal %s)", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # APScheduler logs every round at INFO; the jobs log what they did themselves.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    names = ", ".join(f"{job.name} every {job.seconds} s" for job in registered_jobs(app))
    log.info("Worker started: %s", names or "no jobs")
    scheduler.start()
    log.info("Worker stopped")
