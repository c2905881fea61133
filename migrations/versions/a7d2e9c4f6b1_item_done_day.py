"""The sessions each patient did per day as adherence counts them (item_done_day), kept by
triggers on item logs, schedule rows and pauses, for the Outcomes adherence; filled from the
logs already stored

Revision ID: a7d2e9c4f6b1
Revises: e3a7c9d1b5f8
Create Date: 2026-12-07 04:00:00
"""

import sqlalchemy as sa
from alembic import op

from portal.care import done_days

revision = "a7d2e9c4f6b1"
down_revision = "e3a7c9d1b5f8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "item_done_day",
        sa.Column("patient_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", "day", name=op.f("pk_item_done_day")),
    )
    connection = op.get_bind()
    done_days.create_triggers(connection)
    done_days.rebuild(connection)


def downgrade():
    done_days.drop_triggers(op.get_bind())
    op.drop_table("item_done_day")
