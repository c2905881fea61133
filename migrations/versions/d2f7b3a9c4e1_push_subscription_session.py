"""Web push: each browser's subscription belongs to the sign-in it was turned on in (push_subscription.session_id),
so signing out of that browser turns its notifications off

Revision ID: d2f7b3a9c4e1
Revises: c8e4a2f6b3d1
Create Date: 2026-12-06 21:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d2f7b3a9c4e1"
down_revision = "c8e4a2f6b3d1"
branch_labels = None
depends_on = None


def upgrade():
    # Subscriptions made before this have no sign-in to follow: they stay on, like those whose sign-in ran out.
    with op.batch_alter_table("push_subscription") as batch:
        batch.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch.create_index("ix_push_subscription_session_id", ["session_id"], unique=False)
        batch.create_foreign_key(
            "fk_push_subscription_session_id_user_session", "user_session", ["session_id"], ["id"], ondelete="SET NULL"
        )


def downgrade():
    with op.batch_alter_table("push_subscription") as batch:
        batch.drop_constraint("fk_push_subscription_session_id_user_session", type_="foreignkey")
        batch.drop_index("ix_push_subscription_session_id")
        batch.drop_column("session_id")
