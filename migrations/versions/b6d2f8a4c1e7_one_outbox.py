"""One outbox for every channel: outbound_message (with a channel column) takes the rows of outbound_email and
outbound_text, which are dropped

Revision ID: b6d2f8a4c1e7
Revises: a3c7e1d9b5f2
Create Date: 2026-12-06 20:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b6d2f8a4c1e7"
down_revision = "a3c7e1d9b5f2"
branch_labels = None
depends_on = None

COMMON = "body, created_at, attempts, next_attempt_at, sent_at, last_error"


def upgrade():
    op.create_table(
        "outbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=2048), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbound_message_pending", "outbound_message", ["sent_at", "next_attempt_at"], unique=False)
    # Emails first, then texts, each in the order they were queued (ids are renumbered; nothing refers to them).
    op.execute(
        f"INSERT INTO outbound_message (channel, recipient, subject, link, {COMMON}) "
        f"SELECT 'email', to_address, subject, '', {COMMON} FROM outbound_email ORDER BY id"
    )
    op.execute(
        f"INSERT INTO outbound_message (channel, recipient, subject, link, {COMMON}) "
        f"SELECT 'text', to_number, '', '', {COMMON} FROM outbound_text ORDER BY id"
    )
    op.drop_index("ix_outbound_pending", table_name="outbound_email")
    op.drop_table("outbound_email")
    op.drop_index("ix_outbound_text_pending", table_name="outbound_text")
    op.drop_table("outbound_text")


def downgrade():
    op.create_table(
        "outbound_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbound_pending", "outbound_email", ["sent_at", "next_attempt_at"], unique=False)
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
    # Push notifications have no table to go back to: they are dropped with outbound_message.
    op.execute(
        f"INSERT INTO outbound_email (to_address, subject, {COMMON}) "
        f"SELECT substr(recipient, 1, 254), subject, {COMMON} FROM outbound_message WHERE channel = 'email' ORDER BY id"
    )
    op.execute(
        f"INSERT INTO outbound_text (to_number, {COMMON}) "
        f"SELECT substr(recipient, 1, 20), {COMMON} FROM outbound_message WHERE channel = 'text' ORDER BY id"
    )
    op.drop_index("ix_outbound_message_pending", table_name="outbound_message")
    op.drop_table("outbound_message")
