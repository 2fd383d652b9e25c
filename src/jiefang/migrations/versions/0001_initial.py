"""initial registry: areas, units, teams, equipment, members, accounts

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiefang.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("centroid_lon", sa.Float(), nullable=False),
        sa.Column("centroid_lat", sa.Float(), nullable=False),
        sa.Column("area_km2", sa.Float(), nullable=False),
        sa.Column("updated_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"], ["areas.id"], name=op.f("fk_areas_district_id_areas"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["areas.id"], name=op.f("fk_areas_parent_id_areas"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_areas")),
        sa.UniqueConstraint("code", name=op.f("uq_areas_code")),
    )
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.create_index("ix_areas_district_level", ["district_id", "level"], unique=False)
        batch_op.create_index(batch_op.f("ix_areas_level"), ["level"], unique=False)
        batch_op.create_index(
            "ix_areas_level_bbox", ["level", "min_lon", "max_lon", "min_lat", "max_lat"], unique=False
        )

    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("police_grid_id", sa.Integer(), nullable=True),
        sa.Column("leader_member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["areas.id"], name=op.f("fk_units_district_id_areas")),
        sa.ForeignKeyConstraint(["grid_id"], ["areas.id"], name=op.f("fk_units_grid_id_areas")),
        sa.ForeignKeyConstraint(["police_grid_id"], ["areas.id"], name=op.f("fk_units_police_grid_id_areas")),
        sa.ForeignKeyConstraint(["street_id"], ["areas.id"], name=op.f("fk_units_street_id_areas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("code", name=op.f("uq_units_code")),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_units_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_units_district_id"), ["district_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_units_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index("ix_units_lon_lat", ["lon", "lat"], unique=False)

    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_teams_unit_id_units"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
    )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_teams_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "unit_equipment",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_equipment_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("unit_id", "kind", name=op.f("pk_unit_equipment")),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("insurer", sa.String(length=80), nullable=True),
        sa.Column("insurance_policy_no", sa.String(length=40), nullable=True),
        sa.Column("insurance_expires_on", sa.Date(), nullable=True),
        sa.Column("created_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_members_team_id_teams"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_members_unit_id_units"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_members_team_id"), ["team_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_members_unit_id"), ["unit_id"], unique=False)

    # units and members reference each other: the leader link is added once both exist
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_units_leader_member_id_members"),
            "members",
            ["leader_member_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["areas.id"], name=op.f("fk_accounts_district_id_areas")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_accounts_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_accounts_unit_id_units"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_accounts_username")),
    )
    op.create_table(
        "member_skills",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("skill", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_skills_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("member_id", "skill", name=op.f("pk_member_skills")),
    )
    with op.batch_alter_table("member_skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_skills_skill"), ["skill"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", jiefang.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", jiefang.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_tokens_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_account_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("member_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_skills_skill"))

    op.drop_table("member_skills")
    op.drop_table("accounts")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_unit_id"))
        batch_op.drop_index(batch_op.f("ix_members_team_id"))

    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_units_leader_member_id_members"), type_="foreignkey")
    op.drop_table("members")
    op.drop_table("unit_equipment")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_teams_unit_id"))

    op.drop_table("teams")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index("ix_units_lon_lat")
        batch_op.drop_index(batch_op.f("ix_units_grid_id"))
        batch_op.drop_index(batch_op.f("ix_units_district_id"))
        batch_op.drop_index(batch_op.f("ix_units_category"))

    op.drop_table("units")
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.drop_index("ix_areas_level_bbox")
        batch_op.drop_index(batch_op.f("ix_areas_level"))
        batch_op.drop_index("ix_areas_district_level")

    op.drop_table("areas")
