"""Each patient's check-ins summed per week of their programme (checkin_week), kept by triggers on
check-ins and plans, for the Outcomes pain chart; filled from the check-ins already stored

Revision ID: e3a7c9d1b5f8
Revises: d2f7b3a9c4e1
Create Date: 2026-12-07 03:05:00
"""

import sqlalchemy as sa
from alembic import op

from portal.care import checkin_weeks

revision = "e3a7c9d1b5f8"
down_revision = "d2f7b3a9c4e1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "checkin_week",
        sa.Column("patient_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("week", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pain_sum", sa.Integer(), nullable=False),
        sa.Column("pain_n", sa.Integer(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", "week", name=op.f("pk_checkin_week")),
    )
    connection = op.get_bind()
    checkin_weeks.create_triggers(connection)
    checkin_weeks.rebuild(connection)


def downgrade():
    checkin_weeks.drop_triggers(op.get_bind())
    op.drop_table("checkin_week")
