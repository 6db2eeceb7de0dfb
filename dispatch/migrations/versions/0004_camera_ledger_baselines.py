"""camera ledger and fixture baselines: what happened to each camera's view, and its permitted fixtures by version

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(length=100), nullable=False),
        sa.Column("at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("camera_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_camera_events_camera_id"), ["camera_id"], unique=False)

    op.create_table(
        "camera_baselines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fixtures", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("camera_id", "version", name="uq_camera_baselines_camera_id_version"),
    )


def downgrade() -> None:
    op.drop_table("camera_baselines")
    with op.batch_alter_table("camera_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_camera_events_camera_id"))
    op.drop_table("camera_events")
