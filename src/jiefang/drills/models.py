"""Readiness drills (拉动测试): one row per unit drilled, from plan to score."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from jiefang.db import Base, UTCDateTime, utcnow


class Drill(Base):
    """A drill of one unit (拉动测试): planned by the scheduler or launched by an operator,
    fired through the alert path as a DRILL incident, then scored against 1-3-5."""

    __tablename__ = "drills"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # scheduled, adhoc
    plan_date: Mapped[date] = mapped_column(Date, index=True)  # local day
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # planned -> running -> passed / failed, or cancelled (before firing, or not fired in time)
    status: Mapped[str] = mapped_column(String(12))
    scenario: Mapped[str] = mapped_column(String(40))  # the incident type played
    video_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    seed: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerted: Mapped[int] = mapped_column(Integer, default=0)
    muster_needed: Mapped[int] = mapped_column(Integer, default=0)
    mustered: Mapped[int] = mapped_column(Integer, default=0)  # at the post within 3 minutes
    first_ack_s: Mapped[float | None] = mapped_column(Float)
    video_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    video_confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    self_rescue_passed: Mapped[bool | None] = mapped_column(Boolean)
    mutual_aid_passed: Mapped[bool | None] = mapped_column(Boolean)
    reinforcement_passed: Mapped[bool | None] = mapped_column(Boolean)  # None: no video asked
    passed: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_drills_status_planned_at", "status", "planned_at"),
        Index("ix_drills_unit_planned_at", "unit_id", "planned_at"),
    )
