"""A red-flag alert pauses the patient's exercises until a coach resumes them

Revision ID: a7c15e0f3b91
Revises: d3f6a9c1e2b4
Create Date: 2026-12-01 02:30:00

Red-flag alerts that are still open when this runs pause the exercises too, so
the rule holds for patients who reported a red flag before the upgrade.
"""

import sqlalchemy as sa
from alembic import op

revision = "a7c15e0f3b91"
down_revision = "a19c7e5d2f60"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alert") as batch:
        batch.add_column(sa.Column("exercises_paused", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE alert SET exercises_paused = true WHERE kind = 'red_flag' AND resolved_at IS NULL")


def downgrade():
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("exercises_paused")
