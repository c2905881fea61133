"""A library item's own picture or video (content-addressed in the media store).

Revision ID: f1c6e8a2b9d3
Revises: d3f6a9c1e2b4
"""

import sqlalchemy as sa
from alembic import op

revision = "f1c6e8a2b9d3"
down_revision = "d3f6a9c1e2b4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("library_item") as batch:
        batch.add_column(sa.Column("media_kind", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("media_type", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("media_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("media_thumb_digest", sa.String(length=64), nullable=True))
        batch.create_index("ix_library_item_media_digest", ["media_digest"], unique=False)


def downgrade():
    with op.batch_alter_table("library_item") as batch:
        batch.drop_index("ix_library_item_media_digest")
        batch.drop_column("media_thumb_digest")
        batch.drop_column("media_digest")
        batch.drop_column("media_type")
        batch.drop_column("media_kind")
