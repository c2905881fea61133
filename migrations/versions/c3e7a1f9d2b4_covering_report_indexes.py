"""Indexes a whole-practice report reads without visiting the table: each patient's item logs by day
with the item and sessions done (ix_item_log_patient_day, widened), each patient's check-ins by day
with the pain (ix_checkin_patient_day_pain)

Revision ID: c3e7a1f9d2b4
Revises: b8d4f2a6c1e3
Create Date: 2026-12-06 21:00:00
"""

from alembic import op

revision = "c3e7a1f9d2b4"
down_revision = "b8d4f2a6c1e3"
branch_labels = None
depends_on = None


def upgrade():
    # Widened in place: the same two leading columns serve every query that used the narrow one.
    op.drop_index("ix_item_log_patient_day", table_name="item_log")
    op.create_index("ix_item_log_patient_day", "item_log", ["patient_id", "day", "plan_item_id", "sessions_done"])
    op.create_index("ix_checkin_patient_day_pain", "checkin", ["patient_id", "day", "pain"])


def downgrade():
    op.drop_index("ix_checkin_patient_day_pain", table_name="checkin")
    op.drop_index("ix_item_log_patient_day", table_name="item_log")
    op.create_index("ix_item_log_patient_day", "item_log", ["patient_id", "day"])
