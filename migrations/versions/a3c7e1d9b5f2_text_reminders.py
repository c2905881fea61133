"""Text reminders: a patient's verified number (text_subscription), its hashed codes (text_code) and the
text outbox (outbound_text)

Revision ID: a3c7e1d9b5f2
Revises: d7b2e9f4a1c8
Create Date: 2026-12-06 19:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a3c7e1d9b5f2"
down_revision = "d7b2e9f4a1c8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "text_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_index("ix_text_subscription_phone", "text_subscription", ["phone"], unique=False)
    op.create_table(
        "text_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("wrong_tries", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_text_code_phone_created", "text_code", ["phone", "created_at"], unique=False)
    op.create_index("ix_text_code_user_id", "text_code", ["user_id"], unique=False)
    op.create_table(
        "outbound_text",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_number", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbound_text_pending", "outbound_text", ["sent_at", "next_attempt_at"], unique=False)


def downgrade():
    op.drop_index("ix_outbound_text_pending", table_name="outbound_text")
    op.drop_table("outbound_text")
    op.drop_index("ix_text_code_user_id", table_name="text_code")
    op.drop_index("ix_text_code_phone_created", table_name="text_code")
    op.drop_table("text_code")
    op.drop_index("ix_text_subscription_phone", table_name="text_subscription")
    op.drop_table("text_subscription")
