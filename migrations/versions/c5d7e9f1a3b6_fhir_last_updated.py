"""When an account and a week's PEG answers last changed (FHIR meta.lastUpdated and authored).

Nullable: existing rows read their created_at until they next change.

Revision ID: c5d7e9f1a3b6
Revises: b3e7f1a9c2d4
"""

import sqlalchemy as sa
from alembic import op

revision = "c5d7e9f1a3b6"
down_revision = "b3e7f1a9c2d4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("weekly_outcome") as batch:
        batch.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("weekly_outcome") as batch:
        batch.drop_column("updated_at")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("updated_at")
