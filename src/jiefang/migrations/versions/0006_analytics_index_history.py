"""Analytics: governance index history (one score per area and month, with its parts).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 16:21:01.626646
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiefang.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("parts", sa.Text(), nullable=False),
        sa.Column("computed_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_index_scores_area_id_areas"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_scores")),
        sa.UniqueConstraint("period", "area_id", name=op.f("uq_index_scores_period")),
    )
    with op.batch_alter_table("index_scores", schema=None) as batch_op:
        batch_op.create_index("ix_index_scores_area_period", ["area_id", "period"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("index_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_index_scores_area_period")

    op.drop_table("index_scores")
