"""An index on alert.escalated_at: the coach pages' alert badge counts the clinic's escalated open alerts

Revision ID: d7b2e9f4a1c8
Revises: c9a4e2b7d1f3
Create Date: 2026-12-06 18:55:00

"""

from alembic import op

revision = "d7b2e9f4a1c8"
down_revision = "c9a4e2b7d1f3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index("ix_alert_escalated", ["escalated_at"], unique=False)


def downgrade():
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_escalated")
