"""A language per user (English or Spanish)

Revision ID: b7e1a2c3d4f5
Revises: 5c159861f13f
Create Date: 2026-12-01 01:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b7e1a2c3d4f5"
down_revision = "5c159861f13f"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), server_default="en", nullable=False))


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("language")
