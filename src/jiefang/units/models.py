"""Units, teams and equipment tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiefang.db import Base, UTCDateTime, utcnow


class Unit(Base):
    """A minimum emergency unit (最小应急单元) attached to a site."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Text)
    district_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    police_grid_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    leader_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", use_alter=True, ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    teams: Mapped[list[Team]] = relationship(
        back_populates="unit", cascade="all, delete-orphan", order_by="Team.id"
    )
    equipment: Mapped[list[UnitEquipment]] = relationship(
        cascade="all, delete-orphan", order_by="UnitEquipment.kind"
    )

    __table_args__ = (Index("ix_units_lon_lat", "lon", "lat"),)


class Team(Base):
    """A team (小队) inside a unit; members serve in one team."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    unit: Mapped[Unit] = relationship(back_populates="teams")


class UnitEquipment(Base):
    """How many of one kind of equipment a unit keeps."""

    __tablename__ = "unit_equipment"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
