"""Pause periods of single plan items (who paused, why, from which local day to which)

Revision ID: c7d2b5e8a1f4
Revises: a4c8e2f61b93
Create Date: 2026-12-01 04:01:14

"""

import sqlalchemy as sa
from alembic import op

revision = "c7d2b5e8a1f4"
down_revision = "a4c8e2f61b93"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "plan_item_pause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_item_id", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("paused_by_id", sa.Integer(), nullable=True),
        sa.Column("resumed_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("open_key", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["paused_by_id"], ["user_account.id"], name=op.f("fk_plan_item_pause_paused_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["plan_item_id"],
            ["plan_item.id"],
            name=op.f("fk_plan_item_pause_plan_item_id_plan_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resumed_by_id"], ["user_account.id"], name=op.f("fk_plan_item_pause_resumed_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_item_pause")),
    )
    with op.batch_alter_table("plan_item_pause", schema=None) as batch_op:
        batch_op.create_index("uq_plan_item_pause_one_open", ["plan_item_id", "open_key"], unique=True)


def downgrade():
    with op.batch_alter_table("plan_item_pause", schema=None) as batch_op:
        batch_op.drop_index("uq_plan_item_pause_one_open")

    op.drop_table("plan_item_pause")
