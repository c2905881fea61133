"""Red-flag tiers: two new safety questions, and each red-flag alert's tier (Emergency, Today, Soon)

The alerts' sort number becomes the tier's for red flags (Emergency 0, Urgent 1, Attention 2) with the other
kinds after them (pain worsening 3, missed check-ins 4). Existing red-flag alerts take the tier of the check-in
they point at (bladder or bowel control: Emergency; only pain stopping daily activities: Soon; else Today).

Revision ID: b3e7f1a9c2d4
Revises: a8c3e5f7b9d1
Create Date: 2026-12-06 17:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b3e7f1a9c2d4"
down_revision = "a8c3e5f7b9d1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("checkin") as batch:
        batch.add_column(sa.Column("rf_leg_weakness", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("rf_fever", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("alert") as batch:
        batch.add_column(sa.Column("tier", sa.String(length=16), nullable=True))
    op.execute("UPDATE alert SET severity = 4 WHERE kind = 'missed_checkins'")
    op.execute("UPDATE alert SET severity = 3 WHERE kind = 'pain_worsening'")
    op.execute("UPDATE alert SET tier = 'today', severity = 1 WHERE kind = 'red_flag'")
    op.execute(
        "UPDATE alert SET tier = 'emergency', severity = 0 WHERE kind = 'red_flag' AND checkin_id IN "
        "(SELECT id FROM checkin WHERE rf_bladder_bowel = true)"
    )
    op.execute(
        "UPDATE alert SET tier = 'soon', severity = 2 WHERE kind = 'red_flag' AND checkin_id IN "
        "(SELECT id FROM checkin WHERE rf_activity_stopping = true AND rf_bladder_bowel = false "
        "AND rf_numbness = false AND rf_walking = false AND rf_fall_injury = false)"
    )


def downgrade():
    op.execute("UPDATE alert SET severity = 0 WHERE kind = 'red_flag'")
    op.execute("UPDATE alert SET severity = 1 WHERE kind = 'pain_worsening'")
    op.execute("UPDATE alert SET severity = 2 WHERE kind = 'missed_checkins'")
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("tier")
    with op.batch_alter_table("checkin") as batch:
        batch.drop_column("rf_fever")
        batch.drop_column("rf_leg_weakness")
