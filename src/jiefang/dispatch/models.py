"""Who was alerted for which incident and tier, what they answered, and each tier's deadlines.

Every deadline lives here, in the database, so a restarted server resumes the timers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from jiefang.db import Base, UTCDateTime, utcnow


class Assignment(Base):
    """A member alerted to an incident for one tier, and their answer."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    tier: Mapped[str] = mapped_column(String(16))  # self_rescue, mutual_aid, reinforcement
    wave: Mapped[int] = mapped_column(Integer, default=1)
    # alerted -> accepted -> arrived, or declined / timed_out / cancelled
    status: Mapped[str] = mapped_column(String(16))
    distance_m: Mapped[float] = mapped_column(Float)
    eta_s: Mapped[float] = mapped_column(Float)
    alerted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answer_by: Mapped[datetime | None] = mapped_column(UTCDateTime)  # silence past this: next candidate
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified: Mapped[str] = mapped_column(String(200), default="")  # what each notifier reported
    drill: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # an alert of a drill

    __table_args__ = (
        UniqueConstraint("incident_id", "member_id", name="uq_assignments_incident_member"),
        Index("ix_assignments_status_answer_by", "status", "answer_by"),
    )


class TierState(Base):
    """One tier of an incident's response: how many it needs, how far it looks, when to widen."""

    __tablename__ = "dispatch_tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    tier: Mapped[str] = mapped_column(String(16))
    needed: Mapped[int] = mapped_column(Integer)
    radius_m: Mapped[float] = mapped_column(Float)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)  # on scene by then (1, 3 or 5 minutes)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, staffed, short, closed
    escalations: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("incident_id", "tier", name="uq_dispatch_tiers_incident_tier"),)
