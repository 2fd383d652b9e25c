"""Hazard reports, their photos and status history, and detected hotspots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiefang.db import Base, UTCDateTime, utcnow


class HazardReport(Base):
    """A weak signal (弱信号): a hazard a member (or a civic app) saw and reported."""

    __tablename__ = "hazard_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(24), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    position_source: Mapped[str] = mapped_column(String(8))  # device or exif
    reporter_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    reporter_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    reporter_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(12), default="app")  # app or open311
    district_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    # new -> assigned -> in_progress -> resolved, or rejected from any open status
    status: Mapped[str] = mapped_column(String(12), default="new")
    assignee_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    handler_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # SLA deadline of the current status
    overdue: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    photos: Mapped[list[ReportPhoto]] = relationship(cascade="all, delete-orphan", order_by="ReportPhoto.id")
    updates: Mapped[list[ReportUpdate]] = relationship(cascade="all, delete-orphan", order_by="ReportUpdate.id")

    __table_args__ = (Index("ix_hazard_reports_status_due", "status", "due_at"),)


class ReportPhoto(Base):
    """A photo of a report, re-encoded without its metadata; the bytes live in the photo store."""

    __tablename__ = "report_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("hazard_reports.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    exif_lon: Mapped[float | None] = mapped_column(Float)  # read from the upload, then stripped
    exif_lat: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportUpdate(Base):
    """One step of a report's workflow: who moved it to which status, and why."""

    __tablename__ = "report_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("hazard_reports.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text, default="")


class Hotspot(Base):
    """An emerging cluster of related reports (early warning, 发现在早), found by the hotspot scan."""

    __tablename__ = "hotspots"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_group: Mapped[str] = mapped_column(String(24))
    cell: Mapped[str] = mapped_column(String(16))  # H3 cell at the cluster's centre
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    reports: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float] = mapped_column(Float)
    report_ids: Mapped[str] = mapped_column(Text)  # comma-separated ids of the recent reports in it
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open or closed
