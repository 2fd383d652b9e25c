"""readiness drills

Revision ID: 0005
Revises: 0007
Create Date: 2026-11-24 16:08:21.195384
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiefang.db

revision = "0005"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("plan_date", sa.Date(), nullable=False),
        sa.Column("planned_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("scenario", sa.String(length=40), nullable=False),
        sa.Column("video_requested", sa.Boolean(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("started_at", jiefang.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", jiefang.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("alerted", sa.Integer(), nullable=False),
        sa.Column("muster_needed", sa.Integer(), nullable=False),
        sa.Column("mustered", sa.Integer(), nullable=False),
        sa.Column("first_ack_s", sa.Float(), nullable=True),
        sa.Column("video_confirmed_at", jiefang.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("video_confirmed_by", sa.Integer(), nullable=True),
        sa.Column("self_rescue_passed", sa.Boolean(), nullable=True),
        sa.Column("mutual_aid_passed", sa.Boolean(), nullable=True),
        sa.Column("reinforcement_passed", sa.Boolean(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_drills_created_by_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["district_id"], ["areas.id"], name=op.f("fk_drills_district_id_areas"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_drills_incident_id_incidents"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_drills_unit_id_units"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["video_confirmed_by"],
            ["accounts.id"],
            name=op.f("fk_drills_video_confirmed_by_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drills")),
    )
    with op.batch_alter_table("drills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drills_district_id"), ["district_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drills_plan_date"), ["plan_date"], unique=False)
        batch_op.create_index("ix_drills_status_planned_at", ["status", "planned_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_drills_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index("ix_drills_unit_planned_at", ["unit_id", "planned_at"], unique=False)

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drill", sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drill", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("drill")

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("drill")

    with op.batch_alter_table("drills", schema=None) as batch_op:
        batch_op.drop_index("ix_drills_unit_planned_at")
        batch_op.drop_index(batch_op.f("ix_drills_unit_id"))
        batch_op.drop_index("ix_drills_status_planned_at")
        batch_op.drop_index(batch_op.f("ix_drills_plan_date"))
        batch_op.drop_index(batch_op.f("ix_drills_district_id"))

    op.drop_table("drills")
