"""Effective-dated plan item schedules: the dose and days each item asked for, by the days in force

Revision ID: b4e9d1c7a2f6
Revises: c7d2b5e8a1f4
Create Date: 2026-12-06 17:45:00

Existing items get the rows their history allows: from the plan's start until the item was
removed (the local day of its "plan.item_remove" audit event) or its plan ended, never before
the day after its last logged session (so every logged session still falls on a day the item
was on the plan). The audit trail's "plan.item_update" events carry the values a change
replaced ("before"), so the doses and days in force before each change are rebuilt from them.
"""

import json
from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op

revision = "b4e9d1c7a2f6"
down_revision = "c7d2b5e8a1f4"
branch_labels = None
depends_on = None

FIELDS = ("sets", "reps", "hold_seconds", "times_per_day", "weekdays")
DEFAULT_TIMEZONE = "America/Chicago"

plan = sa.table(
    "plan",
    sa.column("id", sa.Integer),
    sa.column("patient_id", sa.Integer),
    sa.column("start_date", sa.Date),
    sa.column("end_date", sa.Date),
    sa.column("status", sa.String),
)
plan_item = sa.table(
    "plan_item",
    sa.column("id", sa.Integer),
    sa.column("plan_id", sa.Integer),
    sa.column("is_active", sa.Boolean),
    *(sa.column(name, sa.String if name == "weekdays" else sa.Integer) for name in FIELDS),
)
item_log = sa.table("item_log", sa.column("plan_item_id", sa.Integer), sa.column("day", sa.Date))
user_account = sa.table(
    "user_account", sa.column("id", sa.Integer), sa.column("timezone", sa.String), sa.column("clinic_id", sa.Integer)
)
clinic = sa.table("clinic", sa.column("id", sa.Integer), sa.column("timezone", sa.String))
audit_event = sa.table(
    "audit_event",
    sa.column("id", sa.Integer),
    sa.column("at", sa.DateTime),
    sa.column("action", sa.String),
    sa.column("target_type", sa.String),
    sa.column("detail", sa.Text),
)


def upgrade():
    schedule = op.create_table(
        "plan_item_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_item_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("sets", sa.Integer(), nullable=True),
        sa.Column("reps", sa.Integer(), nullable=True),
        sa.Column("hold_seconds", sa.Integer(), nullable=True),
        sa.Column("times_per_day", sa.Integer(), nullable=False),
        sa.Column("weekdays", sa.String(length=7), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["user_account.id"], name=op.f("fk_plan_item_schedule_patient_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["plan_item_id"],
            ["plan_item.id"],
            name=op.f("fk_plan_item_schedule_plan_item_id_plan_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_item_schedule")),
    )
    with op.batch_alter_table("plan_item_schedule", schema=None) as batch_op:
        batch_op.create_index("ix_plan_item_schedule_item_from", ["plan_item_id", "valid_from"], unique=False)
        batch_op.create_index("ix_plan_item_schedule_patient_from", ["patient_id", "valid_from"], unique=False)
    rows = list(schedule_rows(op.get_bind()))
    if rows:
        op.bulk_insert(schedule, rows)


def downgrade():
    with op.batch_alter_table("plan_item_schedule", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_item_schedule_patient_from")
        batch_op.drop_index("ix_plan_item_schedule_item_from")
    op.drop_table("plan_item_schedule")


def _zone(name):
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def _local_day(at, tz_name) -> date:
    return at.replace(tzinfo=UTC).astimezone(_zone(tz_name)).date()


def _plan_item_events(conn) -> dict[int, list[tuple]]:
    """{item id: [(at, action, detail)]} of the plan-item changes the audit trail kept, oldest first."""
    events: dict[int, list[tuple]] = {}
    query = (
        sa.select(audit_event.c.at, audit_event.c.action, audit_event.c.detail)
        .where(audit_event.c.action.in_(("plan.item_update", "plan.item_remove")))
        .order_by(audit_event.c.at, audit_event.c.id)
    )
    for at, action, raw in conn.execute(query):
        try:
            detail = json.loads(raw or "{}")
        except ValueError:
            continue
        item_id = detail.get("item_id", detail.get("item")) if isinstance(detail, dict) else None
        if isinstance(item_id, int):
            events.setdefault(item_id, []).append((at, action, detail))
    return events


def segments(start: date, end: date | None, current: dict, changes: list[tuple[date, dict]]) -> list[tuple]:
    """[(valid_from, valid_to, values)] of one item: ``current`` in force until ``end`` (None: still),
    each change (local day, the values it replaced), oldest first, walked back from the newest."""
    if end is not None and end < start:
        end = start
    found = []
    state, seg_end = dict(current), end
    for day, before in reversed(changes):
        day = max(day, start)
        if end is not None:
            day = min(day, end)
        if seg_end is None or day < seg_end:
            found.append((day, seg_end, state))
            seg_end = day
        state = {**state, **{key: value for key, value in before.items() if key in FIELDS}}
    if seg_end is None or start < seg_end or not found:
        found.append((start, seg_end, state))
    return list(reversed(found))


def schedule_rows(conn):
    last_day = sa.func.max(item_log.c.day, type_=sa.Date)
    last_logs = {
        item_id: day
        for item_id, day in conn.execute(sa.select(item_log.c.plan_item_id, last_day).group_by(item_log.c.plan_item_id))
    }
    events = _plan_item_events(conn)
    query = (
        sa.select(
            plan_item.c.id,
            plan_item.c.is_active,
            *(plan_item.c[name] for name in FIELDS),
            plan.c.patient_id,
            plan.c.start_date,
            plan.c.end_date,
            plan.c.status,
            user_account.c.timezone,
            clinic.c.timezone,
        )
        .join(plan, plan.c.id == plan_item.c.plan_id)
        .join(user_account, user_account.c.id == plan.c.patient_id)
        .outerjoin(clinic, clinic.c.id == user_account.c.clinic_id)
        .order_by(plan_item.c.id)
    )
    for row in conn.execute(query).all():
        item_id, active = row[0], row[1]
        current = dict(zip(FIELDS, row[2 : 2 + len(FIELDS)], strict=True))
        patient_id, start, plan_end, status, own_tz, clinic_tz = row[2 + len(FIELDS) :]
        tz_name = own_tz or clinic_tz
        item_events = events.get(item_id, [])
        end = None
        if not active:
            removed = [_local_day(at, tz_name) for at, action, _detail in item_events if action == "plan.item_remove"]
            end = removed[-1] if removed else start
        if status != "active":
            end = plan_end if end is None or plan_end is None else min(end, plan_end)
            end = end or start
        last_log = last_logs.get(item_id)
        if end is not None and last_log is not None:
            end = max(end, last_log + timedelta(days=1))
        changes = [
            (_local_day(at, tz_name), detail.get("before") or {})
            for at, action, detail in item_events
            if action == "plan.item_update" and isinstance(detail.get("before"), dict)
        ]
        for valid_from, valid_to, values in segments(start, end, current, changes):
            yield {
                "plan_item_id": item_id,
                "patient_id": patient_id,
                "valid_from": valid_from,
                "valid_to": valid_to,
                **values,
            }
