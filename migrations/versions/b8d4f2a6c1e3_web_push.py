"""Web push: each browser's subscription (push_subscription) and the opt-ins for notifications about new
messages and, for coaches, their patients' urgent alerts (user_account.push_messages, push_alerts)

Revision ID: b8d4f2a6c1e3
Revises: b6d2f8a4c1e7
Create Date: 2026-12-06 20:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b8d4f2a6c1e3"
down_revision = "b6d2f8a4c1e7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("push_messages", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("push_alerts", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "push_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=2048), nullable=False),
        sa.Column("p256dh", sa.String(length=100), nullable=False),
        sa.Column("auth", sa.String(length=40), nullable=False),
        sa.Column("device", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint"),
    )
    op.create_index("ix_push_subscription_user_id", "push_subscription", ["user_id"], unique=False)


def downgrade():
    op.drop_index("ix_push_subscription_user_id", table_name="push_subscription")
    op.drop_table("push_subscription")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("push_alerts")
        batch_op.drop_column("push_messages")
