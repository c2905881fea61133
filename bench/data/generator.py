"""generate(): the whole data set in one transaction, table by table."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Table, func, text
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import DBAPIError

from bench.data.history import IdCounters, make_calendar, write_history
from bench.data.messages import MESSAGE_COLUMNS, message_rows
from bench.data.outcomes import OUTCOME_COLUMNS, outcome_rows, week_starts
from bench.data.people import EMAIL_DOMAIN, USER_COLUMNS, People, plan_people, user_rows
from bench.data.plans import PLAN_COLUMNS, PLAN_ITEM_COLUMNS, Schedules, load_library, plan_item_rows, plan_rows
from bench.data.writer import BulkWriter, Counts
from portal import crypto
from portal.auth.models import Clinic, User
from portal.auth.passwords import hash_password
from portal.care import checkin_weeks
from portal.care.consent import KINDS as CONSENT_KINDS
from portal.care.models import CheckIn, ItemLog, Plan, PlanItem, PlanItemSchedule, WeeklyOutcome
from portal.care.onboarding_models import Consent, ConsentText
from portal.care.schedules import SCHEDULE_FIELDS
from portal.demo import DEMO_TOTP_SECRET
from portal.exercises.models import ItemKind
from portal.extensions import db
from portal.messaging.models import Message
from portal.timeutil import local_today, utcnow

MIN_EXERCISES = 6  # a plan holds up to 6 exercises besides posture and diet items

# Tables whose ids the generator assigns: their PostgreSQL sequences must move past them.
ASSIGNED_ID_TABLES = (User, Plan, PlanItem, CheckIn, ItemLog)


class BenchDataError(Exception):
    """The database is not ready for bench data (or already holds some)."""


def generate(patients: int, days: int, *, seed: int = 2026, password: str | None = None) -> Counts:
    """Fill the database; returns the rows written per table. Commits once at the end."""
    if patients < 1 or days < 1:
        raise ValueError("patients and days must be at least 1")
    rng = random.Random(seed)  # synthetic data, reproducible by seed
    counts = Counts()
    started = time.perf_counter()
    password_hash = hash_password(password or current_app.config["DEMO_PASSWORD"])  # hashed once, reused
    now = utcnow()

    with db.engine.begin() as conn:
        clinics = conn.execute(db.select(Clinic.__table__.c.id, Clinic.__table__.c.timezone).order_by("id")).all()
        library = load_library(conn)
        check_ready(conn, clinics, library)
        writer = BulkWriter(conn, counts)
        if writer.postgres:
            tune_postgres_load(conn)
        today = local_today(clinics[0].timezone)
        first_day = today - timedelta(days=days - 1)

        # The triggers that keep each patient's weekly check-in sums would recount a patient once
        # per check-in loaded: they are off for the load, and the sums counted once at the end.
        checkin_weeks.drop_triggers(conn)
        people = plan_people(patients, next_id(conn, User.__table__), clinics, rng)
        write_users(writer, people, rng, password_hash, first_day)
        write_consents(writer, conn, people, now)
        schedules = write_plans(writer, conn, people, library, first_day, rng)
        ids = IdCounters(checkin=next_id(conn, CheckIn.__table__), item_log=next_id(conn, ItemLog.__table__))
        calendar = make_calendar(first_day, days, now, as_text=writer.postgres)
        write_history(writer, people.patients, schedules, calendar, ids, rng)
        weeks = week_starts(first_day, today)
        writer.write(WeeklyOutcome.__table__, OUTCOME_COLUMNS, outcome_rows(people.patients, weeks, rng))
        writer.write(Message.__table__, MESSAGE_COLUMNS, message_rows(people.patients, days, now, rng))
        checkin_weeks.rebuild(conn)
        checkin_weeks.create_triggers(conn)
        if writer.postgres:
            move_sequences(conn)

    # Both engines: without statistics SQLite's planner picks the (role, is_active) index over
    # coach_id for the roster and read 10,000 patients to show 25 (85 ms instead of 1.4 ms).
    analyze()
    counts.seconds = time.perf_counter() - started
    return counts


def check_ready(conn: Connection, clinics: Sequence[Row], library: dict[str, list[tuple]]) -> None:
    """Clinics and a library are needed, and bench data only goes into a database without any."""
    if not clinics:
        raise BenchDataError("No clinics yet: run `flask seed-demo` first.")
    if len(library.get(ItemKind.EXERCISE, [])) < MIN_EXERCISES:
        raise BenchDataError("The library is (nearly) empty: run `flask seed-demo` first.")
    users = User.__table__
    taken = conn.execute(
        db.select(func.count()).select_from(users).where(users.c.email.like(f"%@{EMAIL_DOMAIN}"))
    ).scalar()
    if taken:
        raise BenchDataError("This database already holds bench data; generate into a fresh database.")


def tune_postgres_load(conn: Connection) -> None:
    """Skip per-row foreign-key triggers and the synchronous commit for this transaction.

    Every id is assigned here, consistently, so the triggers only cost time. Skipping
    them needs a superuser; without the privilege the load still works, just slower.
    """
    try:
        with conn.begin_nested():
            conn.execute(text("SET LOCAL session_replication_role = replica"))
    except DBAPIError:
        pass
    conn.execute(text("SET LOCAL synchronous_commit = off"))


def next_id(conn: Connection, table: Table) -> int:
    return (conn.execute(db.select(func.max(table.c.id))).scalar() or 0) + 1


def write_users(writer: BulkWriter, people: People, rng: random.Random, password_hash: str, first_day: date) -> None:
    created = datetime.combine(first_day, datetime.min.time()) - timedelta(days=7)
    writer.write(
        User.__table__, USER_COLUMNS, user_rows(people, rng, password_hash, created, crypto.encrypt(DEMO_TOTP_SECRET))
    )


CONSENT_COLUMNS = ("patient_id", "clinic_id", "kind", "version", "language", "given_at", "ip")


def write_consents(writer: BulkWriter, conn: Connection, people: People, now: datetime) -> None:
    """Every generated patient has agreed to their clinic's newest consent texts (seed-demo publishes them)."""
    texts = ConsentText.__table__
    versions = dict(
        conn.execute(db.select(texts.c.clinic_id, func.max(texts.c.version)).group_by(texts.c.clinic_id)).all()
    )
    rows = (
        (spec.id, spec.clinic_id, kind, versions[spec.clinic_id], "en", now, "")
        for spec in people.patients
        if spec.clinic_id in versions
        for kind in CONSENT_KINDS
    )
    writer.write(Consent.__table__, CONSENT_COLUMNS, rows)


def write_plans(
    writer: BulkWriter,
    conn: Connection,
    people: People,
    library: dict[str, list[tuple]],
    first_day: date,
    rng: random.Random,
) -> Schedules:
    """Plans and their items; returns each patient's item schedule for the check-in history."""
    first_plan_id = next_id(conn, Plan.__table__)
    first_item_id = next_id(conn, PlanItem.__table__)
    writer.write(Plan.__table__, PLAN_COLUMNS, plan_rows(people.patients, first_plan_id, first_day))
    schedules: Schedules = {}
    rows = plan_item_rows(people.patients, library, first_plan_id, first_item_id, rng, schedules)
    writer.write(PlanItem.__table__, PLAN_ITEM_COLUMNS, rows)
    write_item_schedules(conn, first_item_id)
    return schedules


def write_item_schedules(conn: Connection, first_item_id: int) -> None:
    """Each new plan item's schedule row: its dose and days, in force from its plan's start."""
    item, plan, schedule = PlanItem.__table__, Plan.__table__, PlanItemSchedule.__table__
    columns = ["plan_item_id", "patient_id", "valid_from", *SCHEDULE_FIELDS]
    rows = (
        db.select(item.c.id, plan.c.patient_id, plan.c.start_date, *(item.c[name] for name in SCHEDULE_FIELDS))
        .join(plan, plan.c.id == item.c.plan_id)
        .where(item.c.id >= first_item_id)
    )
    conn.execute(schedule.insert().from_select(columns, rows))


def move_sequences(conn: Connection) -> None:
    """PostgreSQL sequences past the ids assigned here, so new rows do not collide with them."""
    for model in ASSIGNED_ID_TABLES:
        table = model.__table__
        last_id = db.select(func.max(table.c.id)).scalar_subquery()
        conn.execute(db.select(func.setval(func.pg_get_serial_sequence(table.name, "id"), last_id)))


def analyze() -> None:
    """Fresh statistics so the planner sees the real table sizes at once (PostgreSQL and SQLite).

    On PostgreSQL a VACUUM too: a production database's tables are vacuumed by autovacuum,
    which marks their pages all-visible, so a query served by an index alone (the Outcomes
    report's reads of item logs and pain) does not visit the table. Just after a bulk load
    nothing is marked yet (and autovacuum may be off on a development server)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))
