"""Server-side sessions (user_session) replace the per-user session token; authenticator secrets encrypted at rest

Revision ID: d3f6a9c1e2b4
Revises: e5a91c3f7b20
Create Date: 2026-12-02 10:00:00

Existing plaintext authenticator secrets are encrypted with the first key of
DATA_ENCRYPTION_KEY (the app's configuration). Everyone is signed out once:
the old cookies named a session token that no longer exists.
"""

import secrets

import sqlalchemy as sa
from alembic import op

from portal import crypto

revision = "d3f6a9c1e2b4"
down_revision = "e5a91c3f7b20"
branch_labels = None
depends_on = None

_users = sa.table("user_account", sa.column("id", sa.Integer), sa.column("totp_secret", sa.String))


def upgrade():
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=120), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_active_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_user_session_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_user_session_secret_hash")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_user_account_session_token"), type_="unique")
        batch_op.drop_column("session_token")
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=64), type_=sa.String(length=255), existing_nullable=True
        )

    conn = op.get_bind()
    rows = conn.execute(sa.select(_users.c.id, _users.c.totp_secret).where(_users.c.totp_secret.is_not(None))).all()
    for user_id, value in rows:
        if not crypto.is_encrypted(value):
            conn.execute(_users.update().where(_users.c.id == user_id).values(totp_secret=crypto.encrypt(value)))


def downgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.select(_users.c.id, _users.c.totp_secret).where(_users.c.totp_secret.is_not(None))).all()
    for user_id, value in rows:
        conn.execute(_users.update().where(_users.c.id == user_id).values(totp_secret=crypto.decrypt(value)))

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=255), type_=sa.String(length=64), existing_nullable=True
        )
        batch_op.add_column(sa.Column("session_token", sa.String(length=64), nullable=True))
    ids = [row[0] for row in conn.execute(sa.select(_users.c.id)).all()]
    tokens = sa.table("user_account", sa.column("id", sa.Integer), sa.column("session_token", sa.String))
    for user_id in ids:
        conn.execute(tokens.update().where(tokens.c.id == user_id).values(session_token=secrets.token_urlsafe(32)))
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.alter_column("session_token", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_user_account_session_token"), ["session_token"])

    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))
    op.drop_table("user_session")
