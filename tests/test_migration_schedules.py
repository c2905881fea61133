"""The schedule migration converts existing plans without losing a logged session.

A database at the revision before it holds an ended plan, an active plan with an item whose
dose changed (the audit trail kept what it replaced), an item removed with its audit entry and
one removed without; after the upgrade every item has the rows its history allows, and every
session logged on a day its item was due still counts.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask_migrate import upgrade
from sqlalchemy import MetaData, Table

from config import TestingConfig
from portal.app import create_app
from portal.audit import AuditEvent
from portal.auth.models import Clinic, Role, User
from portal.care.models import ItemLog, Plan, PlanItem, PlanItemSchedule, PlanStatus
from portal.care.progress import item_adherence
from portal.exercises.models import LibraryItem
from portal.extensions import db
from tests.dbutil import create_postgres_database, drop_postgres_database, is_postgres

BEFORE = "c7d2b5e8a1f4"
D = date(2026, 3, 20)
CHICAGO = ZoneInfo("America/Chicago")


def _at(day: date, hour: int = 12) -> datetime:
    """A stored (naive UTC) timestamp at ``hour`` o'clock on the Chicago ``day``."""
    return datetime.combine(day, time(hour), tzinfo=CHICAGO).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _user_as_of_this_revision(**values) -> SimpleNamespace:
    """An account row written with the columns user_account has at BEFORE: the model has gained
    columns in later migrations, which the ORM would try to write. Unset columns take the model's defaults."""
    table = Table("user_account", MetaData(), autoload_with=db.session.connection())
    model = User.__table__.columns
    row = {}
    for column in table.columns:
        if column.name in values:
            row[column.name] = values[column.name]
        elif column.name in model and model[column.name].default is not None:
            default = model[column.name].default
            row[column.name] = default.arg(None) if default.is_callable else default.arg
    user_id = db.session.execute(table.insert().values(**row).returning(table.c.id)).scalar_one()
    return SimpleNamespace(id=user_id, **values)


def _seed() -> dict[str, int]:
    clinic = Clinic(name="Arlington", city="Arlington", phone="555-0100", timezone="America/Chicago")
    db.session.add(clinic)
    db.session.flush()
    coach = _user_as_of_this_revision(email="c@example.org", name="Casey Coach", role=Role.COACH, clinic_id=clinic.id)
    patient = _user_as_of_this_revision(
        email="p@example.org", name="Pat Patient", role=Role.PATIENT, clinic_id=clinic.id
    )
    library = []
    for n in range(4):
        library.append(
            LibraryItem(kind="exercise", title=f"Stretch {n}", slug=f"s-{n}", summary="", instructions="", body_area="")
        )
    db.session.add_all(library)
    db.session.flush()
    ended = Plan(
        patient_id=patient.id, coach_id=coach.id, title="Old", start_date=D - timedelta(days=40), active_key=None
    )
    ended.status, ended.end_date = PlanStatus.ENDED, D - timedelta(days=20)
    db.session.add(ended)
    db.session.flush()
    # The ORM would store active_key's default (1) for None: an ended plan holds no active slot.
    db.session.execute(db.update(Plan).where(Plan.id == ended.id).values(active_key=None))
    active = Plan(patient_id=patient.id, coach_id=coach.id, title="Now", start_date=D - timedelta(days=20))
    db.session.add(active)
    db.session.flush()

    def item(plan, lib, **values):
        row = PlanItem(plan_id=plan.id, library_item_id=lib.id, position=0, **values)
        db.session.add(row)
        db.session.flush()
        return row

    old = item(ended, library[0], weekdays="0123456", times_per_day=1)
    changed = item(active, library[1], weekdays="0123456", times_per_day=1, sets=3)
    removed = item(active, library[2], is_active=False)
    removed_unaudited = item(active, library[3], is_active=False)

    def log(row, days, sessions=1):
        for day in days:
            db.session.add(ItemLog(plan_item_id=row.id, patient_id=patient.id, day=day, sessions_done=sessions))

    # The ended plan: every day logged, its end day too (logged before the coach replaced it).
    log(old, _days(D - timedelta(days=40), D - timedelta(days=20)))
    # Mon/Wed/Fri twice a day until the change ten days ago, every day once since.
    change_day = D - timedelta(days=10)
    log(
        changed,
        [d for d in _days(D - timedelta(days=20), change_day - timedelta(days=1)) if d.weekday() in (0, 2, 4)],
        2,
    )
    log(changed, _days(change_day, D))
    db.session.add(
        AuditEvent(
            at=_at(change_day),
            action="plan.item_update",
            target_type="Plan",
            target_id=active.id,
            detail=json.dumps(
                {
                    "item": changed.id,
                    "fields": ["times_per_day", "weekdays", "sets"],
                    "before": {"times_per_day": 2, "weekdays": "024", "sets": 2},
                }
            ),
        )
    )
    # Removed five days ago in the evening (UTC already the next day), logged that morning.
    log(removed, _days(D - timedelta(days=20), D - timedelta(days=5)))
    db.session.add(
        AuditEvent(
            at=_at(D - timedelta(days=5), hour=21),
            action="plan.item_remove",
            target_type="Plan",
            target_id=active.id,
            detail=json.dumps({"item": removed.id}),
        )
    )
    log(removed_unaudited, _days(D - timedelta(days=20), D - timedelta(days=8)))
    db.session.commit()
    return {
        "patient": patient.id,
        "old": old.id,
        "changed": changed.id,
        "removed": removed.id,
        "removed_unaudited": removed_unaudited.id,
    }


def test_existing_plans_get_their_schedules_and_keep_every_logged_session(tmp_path):
    base = TestingConfig.SQLALCHEMY_DATABASE_URI
    url = (
        create_postgres_database(base, prefix="holistiq_migr")
        if is_postgres(base)
        else f"sqlite:///{tmp_path / 'm.sqlite3'}"
    )
    try:
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade(revision=BEFORE)
            ids = _seed()
            logged = db.session.scalar(db.select(db.func.sum(ItemLog.sessions_done)))
            # End the read's transaction: a later migration changes item_log's indexes and would wait for its lock.
            db.session.commit()
            upgrade()
            db.session.expire_all()
            rows = {}
            for row in db.session.scalars(db.select(PlanItemSchedule).order_by(PlanItemSchedule.valid_from)):
                rows.setdefault(row.plan_item_id, []).append(
                    (row.valid_from, row.valid_to, row.weekdays, row.times_per_day, row.sets)
                )
            assert rows[ids["old"]] == [(D - timedelta(days=40), D - timedelta(days=19), "0123456", 1, None)]
            assert rows[ids["changed"]] == [
                (D - timedelta(days=20), D - timedelta(days=10), "024", 2, 2),
                (D - timedelta(days=10), None, "0123456", 1, 3),
            ]
            assert rows[ids["removed"]] == [(D - timedelta(days=20), D - timedelta(days=4), "0123456", 1, None)]
            assert rows[ids["removed_unaudited"]] == [
                (D - timedelta(days=20), D - timedelta(days=7), "0123456", 1, None)
            ]
            assert {row.patient_id for row in db.session.scalars(db.select(PlanItemSchedule))} == {ids["patient"]}
            # Every session logged is still counted, each against the schedule of its day.
            figures = item_adherence(ids["patient"], D - timedelta(days=60), D)
            assert sum(row.done for row in figures) == logged
            by_item = {row.item.id: (row.due, row.done, row.current) for row in figures}
            assert by_item[ids["old"]] == (21, 21, False)
            assert by_item[ids["changed"]][2] is True
            db.session.remove()
            db.engine.dispose()
    finally:
        if is_postgres(base):
            drop_postgres_database(url)
