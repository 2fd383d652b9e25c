"""duty and tracking

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiefang.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )
    op.create_table(
        "duty_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_duty_posts_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_posts")),
    )
    with op.batch_alter_table("duty_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duty_posts_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("weekdays", sa.Integer(), nullable=False),
        sa.Column("min_on_duty", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_shifts_team_id_teams"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_shifts_unit_id_units"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shifts")),
    )
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shifts_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "duty_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("shift_id", sa.Integer(), nullable=True),
        sa.Column("as_helper", sa.Boolean(), nullable=False),
        sa.Column("checked_in_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("check_in_lon", sa.Float(), nullable=False),
        sa.Column("check_in_lat", sa.Float(), nullable=False),
        sa.Column("check_in_accuracy_m", sa.Float(), nullable=True),
        sa.Column("check_in_distance_m", sa.Float(), nullable=False),
        sa.Column("auto_checkout_at", jiefang.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_out_at", jiefang.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("check_out_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_duty_sessions_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["duty_posts.id"], name=op.f("fk_duty_sessions_post_id_duty_posts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shifts.id"], name=op.f("fk_duty_sessions_shift_id_shifts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_duty_sessions_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_sessions")),
    )
    with op.batch_alter_table("duty_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duty_sessions_auto_checkout_at"), ["auto_checkout_at"], unique=False)
        batch_op.create_index("ix_duty_sessions_member", ["member_id", "checked_in_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_duty_sessions_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(
            "uq_duty_sessions_open_member",
            ["member_id"],
            unique=True,
            sqlite_where=sa.text("checked_out_at IS NULL"),
            postgresql_where=sa.text("checked_out_at IS NULL"),
        )

    op.create_table(
        "roster_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_roster_assignments_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shifts.id"], name=op.f("fk_roster_assignments_shift_id_shifts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_assignments")),
        sa.UniqueConstraint("shift_id", "member_id", "valid_from", name=op.f("uq_roster_assignments_shift_id")),
    )
    with op.batch_alter_table("roster_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_assignments_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_roster_assignments_shift_id"), ["shift_id"], unique=False)

    op.create_table(
        "track_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("t", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("flagged", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_track_points_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_track_points")),
    )
    with op.batch_alter_table("track_points", schema=None) as batch_op:
        batch_op.create_index("ix_track_points_member_t", ["member_id", "t"], unique=False)
        batch_op.create_index("ix_track_points_t", ["t"], unique=False)

    op.create_table(
        "unit_helpers",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_unit_helpers_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_helpers_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("unit_id", "member_id", name=op.f("pk_unit_helpers")),
    )
    op.create_table(
        "duty_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_duty_audit_account_id_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_duty_audit_member_id_members"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_duty_audit_unit_id_units"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_audit")),
    )
    with op.batch_alter_table("duty_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duty_audit_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_duty_audit_member_id"), ["member_id"], unique=False)

    op.create_table(
        "fences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=True),
        sa.Column("center_lon", sa.Float(), nullable=True),
        sa.Column("center_lat", sa.Float(), nullable=True),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("leave_after_s", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_fences_created_by_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["district_id"], ["areas.id"], name=op.f("fk_fences_district_id_areas"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_fences_team_id_teams"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fences")),
    )
    with op.batch_alter_table("fences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fences_district_id"), ["district_id"], unique=False)

    op.create_table(
        "fence_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fence_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fence_id"], ["fences.id"], name=op.f("fk_fence_events_fence_id_fences"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_fence_events_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fence_events")),
    )
    with op.batch_alter_table("fence_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fence_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_fence_events_fence_id"), ["fence_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fence_events_member_id"), ["member_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("fence_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fence_events_member_id"))
        batch_op.drop_index(batch_op.f("ix_fence_events_fence_id"))
        batch_op.drop_index(batch_op.f("ix_fence_events_at"))

    op.drop_table("fence_events")
    with op.batch_alter_table("fences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fences_district_id"))

    op.drop_table("fences")
    with op.batch_alter_table("duty_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duty_audit_member_id"))
        batch_op.drop_index(batch_op.f("ix_duty_audit_at"))

    op.drop_table("duty_audit")
    op.drop_table("unit_helpers")
    with op.batch_alter_table("track_points", schema=None) as batch_op:
        batch_op.drop_index("ix_track_points_t")
        batch_op.drop_index("ix_track_points_member_t")

    op.drop_table("track_points")
    with op.batch_alter_table("roster_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_assignments_shift_id"))
        batch_op.drop_index(batch_op.f("ix_roster_assignments_member_id"))

    op.drop_table("roster_assignments")
    with op.batch_alter_table("duty_sessions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_duty_sessions_open_member",
            sqlite_where=sa.text("checked_out_at IS NULL"),
            postgresql_where=sa.text("checked_out_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_duty_sessions_unit_id"))
        batch_op.drop_index("ix_duty_sessions_member")
        batch_op.drop_index(batch_op.f("ix_duty_sessions_auto_checkout_at"))

    op.drop_table("duty_sessions")
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shifts_unit_id"))

    op.drop_table("shifts")
    with op.batch_alter_table("duty_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duty_posts_unit_id"))

    op.drop_table("duty_posts")
    op.drop_table("server_secrets")
