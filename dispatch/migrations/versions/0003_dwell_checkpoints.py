"""dwell checkpoints: objects still waiting out their dwell, so a restart loses none of it

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dwell_checkpoints",
        sa.Column("violation_key", sa.String(200), primary_key=True),
        sa.Column("camera_id", sa.String(100), nullable=False, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("shop_id", sa.String(100), nullable=False),
        sa.Column("object_class", sa.String(60), nullable=False),
        sa.Column("box", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("still_s", sa.Float(), nullable=False),
        sa.Column("opened", sa.Boolean(), nullable=False),
        sa.Column("absent_s", sa.Float(), nullable=False),
        sa.Column("saved_at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dwell_checkpoints")
