"""`flask bench-data`: a large, realistic data set for load tests.

N patients over the three clinics and N/200 coaches, each patient with an
active plan of 6-10 library items, D days of check-ins (with gaps, slow trends
and noise), item logs, weekly PEG scores, a few alerts and some messages.

Rows are built as plain tuples and written in bulk: COPY on PostgreSQL, Core
``insert()`` executemany in large chunks elsewhere. Primary keys are assigned
here (from the current maximum) so child rows can point at their parents
without reading anything back; PostgreSQL sequences are moved past them at the
end. Everything is one transaction: a failed run leaves nothing behind.
"""

from __future__ import annotations

import math
import random
import secrets
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Table, func, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from portal import demo
from portal.auth.models import Clinic, Role, User
from portal.auth.passwords import hash_password
from portal.care.models import (
    ALERT_SEVERITY,
    Alert,
    AlertKind,
    CheckIn,
    ItemLog,
    Plan,
    PlanItem,
    PlanStatus,
    WeeklyOutcome,
)
from portal.exercises.models import ItemKind, LibraryItem
from portal.extensions import db
from portal.messaging.models import Message
from portal.timeutil import local_today, utcnow

PATIENTS_PER_COACH = 200
EMAIL_DOMAIN = "bench.holistiq.example"
CHUNK_ROWS = 10_000  # rows per executemany batch on databases without COPY

FIRST_NAMES = (
    "Maria James Linh Robert Aisha Daniel Sofia William Fatima Tyrone Emily Carlos Grace Omar Hannah "
    "Luis Mei Anthony Priya Jamal Olivia Diego Chloe Samuel Nadia Ethan Rosa Kevin Leah Marcus Ana "
    "Brandon Yusuf Tanya Victor Keisha Noah Isabel Derek Amara"
).split()
LAST_NAMES = (
    "Gonzalez Carter Nguyen Thompson Okafor Kim Ramirez Brooks Haddad Jackson Patel Johnson Lee Garcia "
    "Martinez Davis Wilson Anderson Taylor Moore Hernandez Lopez Clark Lewis Walker Hall Young King "
    "Wright Scott Green Baker Adams Nelson Hill Rivera Campbell Mitchell Roberts Turner"
).split()
CHECKIN_NOTES = (
    "Long day at the desk, lower back tight by evening.",
    "Walked the dog twice, felt looser afterwards.",
    "Slept badly, woke up stiff.",
    "Heat pack helped before the stretches.",
    "Lifted groceries carefully, no spasm.",
    "Busy shift on my feet; back ached at the end.",
    "Felt good today.",
    "Drove a lot, took breaks every hour.",
)
PATIENT_MESSAGES = (
    "Is it okay to do the stretches twice a day?",
    "The knee-to-chest stretch pulls a bit on the left side. Should I keep going?",
    "I missed a few days because of work travel, back on track now.",
    "Thanks, the breathing exercise really helps at night.",
    "Could we swap one exercise? The bridge hurts my wrist when I push up.",
)
COACH_MESSAGES = (
    "Great work this week. Keep the movements slow and pain-free.",
    "Yes, a gentle second round in the evening is fine if it feels good.",
    "Let's ease off that one for now; I've added a gentler option to your plan.",
    "Thanks for the update. Remember to check in each day so I can see your progress.",
    "Nice consistency! Your pain scores are trending down.",
)


@dataclass
class Counts:
    """Rows written per table, and elapsed time."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n


class BulkWriter:
    """Writes tuples to a table: COPY on PostgreSQL, chunked executemany elsewhere.

    Columns a caller leaves out get their model default (scalar, or a callable
    evaluated once per run: timestamps), so new defaulted columns need no change here.
    """

    def __init__(self, conn: Connection, counts: Counts) -> None:
        self.conn = conn
        self.counts = counts
        self.postgres = conn.dialect.name == "postgresql"

    def _defaults(self, table: Table, columns: Sequence[str]) -> tuple[list[str], tuple]:
        extra_cols, extra_vals = [], []
        for column in table.columns:
            if column.name in columns or column.default is None:
                continue
            default = column.default
            value = default.arg(None) if default.is_callable else default.arg
            extra_cols.append(column.name)
            extra_vals.append(value)
        return extra_cols, tuple(extra_vals)

    def write(self, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        extra_cols, extra_vals = self._defaults(table, columns)
        all_cols = list(columns) + extra_cols
        n = 0
        if self.postgres:
            cursor = self.conn.connection.driver_connection.cursor()
            names = ", ".join(f'"{c}"' for c in all_cols)
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                write_row = copy.write_row
                if extra_vals:
                    for row in rows:
                        write_row(row + extra_vals)
                        n += 1
                else:
                    for row in rows:
                        write_row(row)
                        n += 1
        else:
            statement = table.insert()
            batch: list[dict] = []
            for row in rows:
                batch.append(dict(zip(all_cols, row + extra_vals, strict=True)))
                if len(batch) >= CHUNK_ROWS:
                    self.conn.execute(statement, batch)
                    n += len(batch)
                    batch = []
            if batch:
                self.conn.execute(statement, batch)
                n += len(batch)
        self.counts.add(table.name, n)
        return n


@dataclass
class PatientSpec:
    id: int
    coach_id: int
    clinic_id: int
    baseline: float  # pain at the start of the period
    slope: float  # change per day (negative: improving)
    adherence: float  # probability of checking in on a given day
    diligence: float  # probability of doing a due item on an active day


def _next_id(conn: Connection, table: Table) -> int:
    return (conn.execute(db.select(func.max(table.c.id))).scalar() or 0) + 1


def _library(conn: Connection) -> dict[str, list[tuple]]:
    """Active library items by kind, with their default dosage."""
    t = LibraryItem.__table__
    rows = conn.execute(
        db.select(
            t.c.id, t.c.kind, t.c.default_sets, t.c.default_reps, t.c.default_hold_seconds, t.c.default_times_per_day
        )
        .where(t.c.is_active.is_(True))
        .order_by(t.c.id)
    ).all()
    by_kind: dict[str, list[tuple]] = {k.value: [] for k in ItemKind}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(tuple(row))
    return by_kind


def generate(patients: int, days: int, *, seed: int = 2026, password: str | None = None) -> Counts:
    """Fill the database; returns the rows written per table. Commits once at the end."""
    if patients < 1 or days < 1:
        raise ValueError("patients and days must be at least 1")
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by seed  # nosec B311
    counts = Counts()
    started = time.perf_counter()
    password_hash = hash_password(password or current_app.config["DEMO_PASSWORD"])  # hashed once, reused
    now = utcnow()

    with db.engine.begin() as conn:
        clinics = conn.execute(db.select(Clinic.__table__.c.id, Clinic.__table__.c.timezone).order_by("id")).all()
        if not clinics:
            raise click.ClickException("No clinics yet: run `flask seed-demo` first.")
        library = _library(conn)
        if len(library.get(ItemKind.EXERCISE, [])) < 6:
            raise click.ClickException("The library is (nearly) empty: run `flask seed-demo` first.")
        users = User.__table__
        taken = conn.execute(
            db.select(func.count()).select_from(users).where(users.c.email.like(f"%@{EMAIL_DOMAIN}"))
        ).scalar()
        if taken:
            raise click.ClickException("This database already holds bench data; generate into a fresh database.")

        today = local_today(clinics[0].timezone)
        first_day = today - timedelta(days=days - 1)
        writer = BulkWriter(conn, counts)
        if writer.postgres:
            # Every id is assigned here, consistently, so the per-row foreign-key
            # triggers only cost time: skip them for this transaction (superuser only;
            # without the privilege the load still works, just slower).
            try:
                with conn.begin_nested():
                    conn.execute(text("SET LOCAL session_replication_role = replica"))
            except DBAPIError:
                pass
            conn.execute(text("SET LOCAL synchronous_commit = off"))

        # --- coaches and patients ------------------------------------------
        n_coaches = max(1, math.ceil(patients / PATIENTS_PER_COACH))
        user_id = _next_id(conn, users)
        coach_ids = list(range(user_id, user_id + n_coaches))
        patient_ids = list(range(user_id + n_coaches, user_id + n_coaches + patients))
        coach_clinic = {cid: clinics[i % len(clinics)].id for i, cid in enumerate(coach_ids)}
        specs: list[PatientSpec] = []
        for i, pid in enumerate(patient_ids):
            coach_id = coach_ids[i // PATIENTS_PER_COACH]
            # Most patients attend their coach's clinic; some live nearer another one.
            clinic_id = coach_clinic[coach_id] if rng.random() < 0.8 else rng.choice(clinics).id
            trend = rng.random()
            slope = -rng.uniform(0.01, 0.04) if trend < 0.7 else (0.0 if trend < 0.9 else rng.uniform(0.005, 0.02))
            specs.append(
                PatientSpec(
                    id=pid,
                    coach_id=coach_id,
                    clinic_id=clinic_id,
                    baseline=rng.uniform(4.0, 8.5),
                    slope=slope,
                    adherence=rng.choice((0.35, 0.6, 0.75, 0.85, 0.9, 0.95, 0.98)),
                    diligence=rng.uniform(0.4, 0.95),
                )
            )

        def user_rows() -> Iterator[tuple]:
            created = datetime.combine(first_day, datetime.min.time()) - timedelta(days=7)
            for n, cid in enumerate(coach_ids, 1):
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                yield (
                    cid,
                    f"coach-{n:04d}@{EMAIL_DOMAIN}",
                    name,
                    Role.COACH.value,
                    coach_clinic[cid],
                    None,
                    password_hash,
                    secrets.token_urlsafe(32),
                    created,
                    staff_totp,
                    staff_totp is not None,
                )
            for n, spec in enumerate(specs, 1):
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                yield (
                    spec.id,
                    f"patient-{n:05d}@{EMAIL_DOMAIN}",
                    name,
                    Role.PATIENT.value,
                    spec.clinic_id,
                    spec.coach_id,
                    password_hash,
                    secrets.token_urlsafe(32),
                    created,
                    None,
                    False,
                )

        # Staff sign in with two steps; generated coaches share the published demo secret.
        staff_totp = getattr(demo, "DEMO_TOTP_SECRET", None)
        writer.write(
            users,
            (
                "id",
                "email",
                "name",
                "role",
                "clinic_id",
                "coach_id",
                "password_hash",
                "session_token",
                "created_at",
                "totp_secret",
                "totp_enabled",
            ),
            user_rows(),
        )

        # --- plans and plan items ------------------------------------------
        plan_id0 = _next_id(conn, Plan.__table__)
        item_id0 = _next_id(conn, PlanItem.__table__)
        plan_items: dict[int, list[tuple[int, str]]] = {}  # patient -> [(plan_item_id, weekdays)]

        def plan_rows() -> Iterator[tuple]:
            for n, spec in enumerate(specs):
                yield (
                    plan_id0 + n,
                    spec.id,
                    spec.coach_id,
                    "Home plan for back spasms",
                    "Less pain and stiffness; back to walking 30 minutes a day.",
                    first_day,
                    PlanStatus.ACTIVE.value,
                    1,
                )

        writer.write(
            Plan.__table__,
            ("id", "patient_id", "coach_id", "title", "goals", "start_date", "status", "version"),
            plan_rows(),
        )

        def plan_item_rows() -> Iterator[tuple]:
            next_id = item_id0
            exercises = library[ItemKind.EXERCISE]
            posture = library.get(ItemKind.POSTURE) or exercises
            diet = library.get(ItemKind.DIET) or exercises
            for n, spec in enumerate(specs):
                size = rng.randint(6, 10)
                n_posture = rng.randint(1, 2)
                n_diet = rng.randint(1, 2)
                chosen = (
                    rng.sample(exercises, size - n_posture - n_diet)
                    + rng.sample(posture, min(n_posture, len(posture)))
                    + rng.sample(diet, min(n_diet, len(diet)))
                )
                items = plan_items.setdefault(spec.id, [])
                for position, (lib_id, _kind, sets, reps, hold, per_day) in enumerate(chosen):
                    # Strengthening work on Mon/Wed/Fri for some; everything else daily.
                    weekdays = "024" if rng.random() < 0.15 else "0123456"
                    items.append((next_id, weekdays))
                    yield (next_id, plan_id0 + n, lib_id, sets, reps, hold, per_day or 1, weekdays, position, True, "")
                    next_id += 1

        writer.write(
            PlanItem.__table__,
            (
                "id",
                "plan_id",
                "library_item_id",
                "sets",
                "reps",
                "hold_seconds",
                "times_per_day",
                "weekdays",
                "position",
                "is_active",
                "coach_note",
            ),
            plan_item_rows(),
        )

        # --- check-ins, item logs, alerts ----------------------------------
        checkin_id0 = _next_id(conn, CheckIn.__table__)
        day_list = [first_day + timedelta(days=d) for d in range(days)]
        weekday_digit = [str(d.weekday()) for d in day_list]
        stamps = [datetime.combine(d, datetime.min.time()) + timedelta(hours=25) for d in day_list]  # ~7 pm local
        # COPY takes text: formatting each date once here is much cheaper than per row.
        day_out = [d.isoformat() for d in day_list] if writer.postgres else day_list
        stamp_out = [s.isoformat(" ") for s in stamps] if writer.postgres else stamps
        alerts: list[tuple] = []

        checkin_cols = (
            "id",
            "patient_id",
            "day",
            "pain",
            "stiffness",
            "spasm_episodes",
            "sleep_quality",
            "water_glasses",
            "notes",
            "rf_numbness",
            "rf_walking",
            "rf_bladder_bowel",
            "rf_fall_injury",
            "rf_activity_stopping",
            "created_at",
            "updated_at",
        )
        item_log_cols = ("id", "plan_item_id", "patient_id", "day", "done", "pain_during", "updated_at")
        checkin_id = checkin_id0
        item_log_id = _next_id(conn, ItemLog.__table__)
        rand = rng.random
        gauss = rng.gauss
        # Patients in blocks: one COPY per table per block keeps memory flat.
        for block_start in range(0, len(specs), 250):
            checkins: list[tuple] = []
            item_logs: list[tuple] = []
            for spec in specs[block_start : block_start + 250]:
                away_until = -1
                recent: list[int] = []
                last_day_index = -1
                items = plan_items[spec.id]
                for d in range(days):
                    if d < away_until:
                        continue
                    if rand() < 0.01:  # a trip or a bad week: several days without check-ins
                        away_until = d + rng.randint(3, 8)
                        continue
                    if rand() > spec.adherence:
                        continue
                    pain_f = spec.baseline + spec.slope * d + gauss(0, 0.9)
                    pain = min(10, max(0, round(pain_f)))
                    red_flag = rand() < 0.002
                    stamp = stamp_out[d]
                    checkins.append(
                        (
                            checkin_id,
                            spec.id,
                            day_out[d],
                            pain,
                            min(10, max(0, round(pain_f + gauss(0.5, 1.0)))),
                            max(0, round((pain_f - 3) / 2 + gauss(0, 0.7))),
                            min(5, max(1, round(5 - pain_f / 2.5 + gauss(0, 0.6)))),
                            3 + int(rand() * 8),
                            CHECKIN_NOTES[int(rand() * len(CHECKIN_NOTES))] if rand() < 0.08 else "",
                            red_flag,
                            False,
                            False,
                            False,
                            False,
                            stamp,
                            stamp,
                        )
                    )
                    if red_flag:
                        resolved = d < days - 2
                        alerts.append(
                            (
                                spec.id,
                                AlertKind.RED_FLAG.value,
                                "New numbness or tingling reported",
                                checkin_id,
                                stamps[d],
                                None if resolved else 1,
                                spec.coach_id if resolved else None,
                                stamps[d] + timedelta(hours=3) if resolved else None,
                            )
                        )
                    checkin_id += 1
                    recent.append(pain)
                    last_day_index = d
                    wd = weekday_digit[d]
                    day = day_out[d]
                    for item_id, weekdays in items:
                        if wd in weekdays and rand() < spec.diligence:
                            item_logs.append(
                                (item_log_id, item_id, spec.id, day, True, pain if rand() < 0.2 else None, stamp)
                            )
                            item_log_id += 1
                if len(recent) >= 3 and recent[-1] >= recent[-2] + 1 >= recent[-3] + 2:
                    alerts.append(
                        (
                            spec.id,
                            AlertKind.PAIN_WORSENING.value,
                            "Pain rose over the last three check-ins",
                            None,
                            now,
                            1,
                            None,
                            None,
                        )
                    )
                if last_day_index < days - 3:
                    alerts.append(
                        (
                            spec.id,
                            AlertKind.MISSED_CHECKINS.value,
                            "No check-in for 3 days or more",
                            None,
                            now,
                            1,
                            None,
                            None,
                        )
                    )
            writer.write(CheckIn.__table__, checkin_cols, checkins)
            writer.write(ItemLog.__table__, item_log_cols, item_logs)

        writer.write(
            Alert.__table__,
            (
                "patient_id",
                "kind",
                "summary",
                "checkin_id",
                "opened_at",
                "open_key",
                "resolved_by_id",
                "resolved_at",
                "severity",
            ),
            (a + (ALERT_SEVERITY[AlertKind(a[1])],) for a in alerts),
        )

        # --- weekly PEG scores and messages --------------------------------
        def outcome_rows() -> Iterator[tuple]:
            monday0 = first_day - timedelta(days=first_day.weekday())
            weeks = [monday0 + timedelta(weeks=w) for w in range((today - monday0).days // 7 + 1)]
            for spec in specs:
                for w, week_start in enumerate(weeks):
                    if rng.random() > spec.adherence:
                        continue
                    level = spec.baseline + spec.slope * 7 * w
                    vals = [min(10, max(0, round(level + rng.gauss(0, 1)))) for _ in range(3)]
                    yield (
                        spec.id,
                        week_start,
                        vals[0],
                        vals[1],
                        vals[2],
                        datetime.combine(week_start, datetime.min.time()),
                    )

        writer.write(
            WeeklyOutcome.__table__,
            (
                "patient_id",
                "week_start",
                "pain_average",
                "enjoyment_interference",
                "activity_interference",
                "created_at",
            ),
            outcome_rows(),
        )

        def message_rows() -> Iterator[tuple]:
            for spec in specs:
                for k in range(rng.randint(0, 6)):
                    sent = now - timedelta(days=rng.uniform(0, days), minutes=k)
                    if k % 2 == 0:
                        sender, recipient, body = spec.id, spec.coach_id, rng.choice(PATIENT_MESSAGES)
                    else:
                        sender, recipient, body = spec.coach_id, spec.id, rng.choice(COACH_MESSAGES)
                    read_at = None if sent > now - timedelta(days=2) else sent + timedelta(hours=5)
                    yield (spec.id, sender, recipient, body, sent, read_at)

        writer.write(
            Message.__table__,
            ("patient_id", "sender_id", "recipient_id", "body", "sent_at", "read_at"),
            message_rows(),
        )

        if writer.postgres:
            for table in (users, Plan.__table__, PlanItem.__table__, CheckIn.__table__, ItemLog.__table__):
                last_id = db.select(func.max(table.c.id)).scalar_subquery()
                conn.execute(db.select(func.setval(func.pg_get_serial_sequence(table.name, "id"), last_id)))

    if db.engine.dialect.name == "postgresql":
        # Fresh statistics so the planner sees the real table sizes at once.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    counts.seconds = time.perf_counter() - started
    return counts


@click.command("bench-data")
@click.option("--patients", type=click.IntRange(1, 1_000_000), default=10_000, show_default=True)
@click.option("--days", type=click.IntRange(1, 3650), default=180, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True, help="Random seed (same seed, same data).")
@with_appcontext
def bench_data_command(patients: int, days: int, seed: int) -> None:
    """Fill the database with a large, realistic data set for load tests."""
    demo.run_all()  # clinics, library and demo accounts first (idempotent)
    if not db.session.scalar(db.select(func.count()).select_from(LibraryItem)):
        from portal.exercises.library import load_starter_library

        load_starter_library()
    db.session.commit()
    counts = generate(patients, days, seed=seed)
    for table, n in counts.rows.items():
        click.echo(f"  {table:<16} {n:>12,}")
    rate = counts.total / counts.seconds if counts.seconds else 0
    click.echo(f"Wrote {counts.total:,} rows in {counts.seconds:.1f} s ({rate:,.0f} rows/s).")
    click.echo(f"Generated users sign in with the demo password; emails end in @{EMAIL_DOMAIN}.")
