"""versioned frontage zones (the zone editor)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:00:00
"""

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zone_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("frontages", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("camera_id", "version", name="uq_zone_versions_camera_id_version"),
    )


def downgrade() -> None:
    op.drop_table("zone_versions")
