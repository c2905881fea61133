"""API tokens are sessions: an access token row points at the refresh session that issued it

Revision ID: a19c7e5d2f60
Revises: d3f6a9c1e2b4
Create Date: 2026-12-01 02:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a19c7e5d2f60"
down_revision = "f1c6e8a2b9d3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_user_session_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_user_session_parent_id_user_session"),
            "user_session",
            ["parent_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade():
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_user_session_parent_id_user_session"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_user_session_parent_id"))
        batch_op.drop_column("parent_id")
