"""Library items and programs in other languages (translations keyed by object and locale)

Revision ID: e5a91c3f7b20
Revises: b7e1a2c3d4f5
Create Date: 2026-12-01 02:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e5a91c3f7b20"
down_revision = "b7e1a2c3d4f5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "library_item_translation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library_item_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("cautions", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["library_item_id"], ["library_item.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("library_item_id", "locale", name="uq_library_item_translation_item_locale"),
    )
    op.create_table(
        "program_translation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("program_id", "locale", name="uq_program_translation_program_locale"),
    )


def downgrade():
    op.drop_table("program_translation")
    op.drop_table("library_item_translation")
