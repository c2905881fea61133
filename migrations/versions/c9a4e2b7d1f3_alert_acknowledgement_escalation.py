"""Acknowledging and escalating red-flag alerts, the patient's resume notice, and each clinic's on-call contacts

Existing red-flag alerts take their opening time as the time of their tier.

Revision ID: c9a4e2b7d1f3
Revises: f4a2d8c6b1e9
Create Date: 2026-12-06 18:25:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c9a4e2b7d1f3"
down_revision = "f4a2d8c6b1e9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "on_call_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_on_call_contact_clinic_id_clinic"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_on_call_contact")),
    )
    with op.batch_alter_table("on_call_contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_on_call_contact_clinic_id"), ["clinic_id"], unique=False)
    with op.batch_alter_table("alert") as batch_op:
        batch_op.add_column(sa.Column("tier_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("resumed_on_resolve", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("resume_notice_dismissed_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_alert_acknowledged_by_id_user_account"), "user_account", ["acknowledged_by_id"], ["id"]
        )
    op.execute("UPDATE alert SET tier_at = opened_at WHERE tier IS NOT NULL")


def downgrade():
    with op.batch_alter_table("alert") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alert_acknowledged_by_id_user_account"), type_="foreignkey")
        batch_op.drop_column("resume_notice_dismissed_at")
        batch_op.drop_column("resumed_on_resolve")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("acknowledged_by_id")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("tier_at")
    with op.batch_alter_table("on_call_contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_on_call_contact_clinic_id"))
    op.drop_table("on_call_contact")
