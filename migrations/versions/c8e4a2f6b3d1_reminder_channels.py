"""Reminders on every channel: a patient's email switch for reminders and their quiet hours

Revision ID: c8e4a2f6b3d1
Revises: c3e7a1f9d2b4
Create Date: 2026-12-06 21:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c8e4a2f6b3d1"
down_revision = "c3e7a1f9d2b4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("email_reminders", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column("quiet_start", sa.Time(), server_default=sa.text("'21:00:00'"), nullable=False))
        batch.add_column(sa.Column("quiet_end", sa.Time(), server_default=sa.text("'08:00:00'"), nullable=False))


def downgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("quiet_end")
        batch.drop_column("quiet_start")
        batch.drop_column("email_reminders")
