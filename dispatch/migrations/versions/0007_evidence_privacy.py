"""evidence privacy: boxes kept with evidence, views of originals logged

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:00:00
"""

import sqlalchemy as sa
from alembic import op

import dispatch.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("evidence_deleted_at", dispatch.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "evidence_views",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", dispatch.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("what", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("evidence_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_views_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_views_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_views_at"))
        batch_op.drop_index(batch_op.f("ix_evidence_views_case_id"))
    op.drop_table("evidence_views")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("evidence_deleted_at")
        batch_op.drop_column("evidence")
