"""Fences, their enter/leave events, and the down-sampled durable track of members on duty."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jiefang.db import Base, UTCDateTime, utcnow


class Fence(Base):
    """An electronic fence (电子围栏): a polygon, or a circle (centre and radius in metres)."""

    __tablename__ = "fences"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(24))  # patrol_zone, sensitive_area, incident_perimeter
    geometry: Mapped[str | None] = mapped_column(Text)  # GeoJSON polygon, WGS84; null for circles
    center_lon: Mapped[float | None] = mapped_column(Float)
    center_lat: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[float | None] = mapped_column(Float)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="SET NULL"), index=True)
    leave_after_s: Mapped[int] = mapped_column(Integer, default=300)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FenceEvent(Base):
    """A member entered or left a fence, or stayed out of their patrol zone too long."""

    __tablename__ = "fence_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    fence_id: Mapped[int] = mapped_column(ForeignKey("fences.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # enter, leave, patrol_absence
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)


class TrackPoint(Base):
    """A kept position of a member on duty (down-sampled) for after-action review."""

    __tablename__ = "track_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    t: Mapped[datetime] = mapped_column(UTCDateTime)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    flagged: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("ix_track_points_member_t", "member_id", "t"), Index("ix_track_points_t", "t"))
