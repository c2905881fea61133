"""When I do my plan: a patient's times of day (user_account.plan_times), the plan reminders'
opt-in (plan_reminders) and the at-most-once claims of those reminders (plan_reminder_sent)

Revision ID: f4a2d8c6b1e9
Revises: e8b3c6d1f2a7
Create Date: 2026-12-06 18:30:00

Existing patients keep NULL times: they read as the defaults (08:00, 13:00, 19:00).
"""

import sqlalchemy as sa
from alembic import op

revision = "f4a2d8c6b1e9"
down_revision = "e8b3c6d1f2a7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_times", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("plan_reminders", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "plan_reminder_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["user_account.id"], name=op.f("fk_plan_reminder_sent_patient_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_reminder_sent")),
        sa.UniqueConstraint("patient_id", "day", "slot", name="uq_plan_reminder_patient_day_slot"),
    )


def downgrade():
    op.drop_table("plan_reminder_sent")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("plan_reminders")
        batch_op.drop_column("plan_times")
