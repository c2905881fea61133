"""Idempotency-Key on the API's creating POSTs: one claimed key per user, with the answer given.

Revision ID: a8c3e5f7b9d1
Revises: b3e9d1a7c5f2
"""

import sqlalchemy as sa
from alembic import op

revision = "a8c3e5f7b9d1"
down_revision = "b3e9d1a7c5f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_idempotent_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "key", name="uq_api_idempotent_request_user_key"),
    )
    op.create_index("ix_api_idempotent_request_created_at", "api_idempotent_request", ["created_at"], unique=False)


def downgrade():
    op.drop_index("ix_api_idempotent_request_created_at", table_name="api_idempotent_request")
    op.drop_table("api_idempotent_request")
