"""A patient's date of birth (optional)

Revision ID: a4c8e2f61b93
Revises: d3f6a9c1e2b4
Create Date: 2026-12-01 02:35:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a4c8e2f61b93"
down_revision = "a8c4e2f17d93"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("date_of_birth")
