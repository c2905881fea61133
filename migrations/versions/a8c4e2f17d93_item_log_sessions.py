"""Item logs count sessions: an item done three times a day is logged once per session

Revision ID: a8c4e2f17d93
Revises: d3f6a9c1e2b4
Create Date: 2026-12-01 02:30:00

Existing logs were one tick for the whole day, so a done log becomes every session of
that day (the item's times a day) and a not-done log becomes zero: adherence and
"done for the day" read the same as before, nothing is lost.
"""

import sqlalchemy as sa
from alembic import op

revision = "a8c4e2f17d93"
down_revision = "a7c15e0f3b91"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("item_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sessions_done", sa.Integer(), server_default="1", nullable=False))
    op.execute(
        "UPDATE item_log SET sessions_done = CASE WHEN done THEN "
        "(SELECT plan_item.times_per_day FROM plan_item WHERE plan_item.id = item_log.plan_item_id) "
        "ELSE 0 END"
    )


def downgrade():
    with op.batch_alter_table("item_log", schema=None) as batch_op:
        batch_op.drop_column("sessions_done")
