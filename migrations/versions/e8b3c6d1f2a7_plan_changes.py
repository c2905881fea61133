"""Plan changes told to the patient: what a coach added, removed, paused, resumed or re-dosed

Revision ID: e8b3c6d1f2a7
Revises: c5d7e9f1a3b6
Create Date: 2026-12-06 18:10:00

Starts empty: changes made before it are not announced (they were not told at the time either).
"""

import sqlalchemy as sa
from alembic import op

revision = "e8b3c6d1f2a7"
down_revision = "c5d7e9f1a3b6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "plan_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("plan_item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["user_account.id"], name=op.f("fk_plan_change_patient_id_user_account")),
        sa.ForeignKeyConstraint(
            ["plan_item_id"], ["plan_item.id"], name=op.f("fk_plan_change_plan_item_id_plan_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_change")),
    )
    with op.batch_alter_table("plan_change", schema=None) as batch_op:
        batch_op.create_index("ix_plan_change_patient_created", ["patient_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_change_plan_item_id"), ["plan_item_id"], unique=False)


def downgrade():
    with op.batch_alter_table("plan_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_change_plan_item_id"))
        batch_op.drop_index("ix_plan_change_patient_created")
    op.drop_table("plan_change")
