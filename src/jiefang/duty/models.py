"""Shifts, roster assignments, posts with QR token versions, duty sessions and their audit."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, Time, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from jiefang.db import Base, UTCDateTime, utcnow


class Shift(Base):
    """A shift (班次) of a unit or one of its teams: local start/end time on chosen weekdays.

    An end time at or before the start time means the shift runs past midnight.
    """

    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(40))
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    weekdays: Mapped[int] = mapped_column(Integer, default=0b1111111)  # bit 0 = Monday
    min_on_duty: Mapped[int] = mapped_column(Integer, default=1)


class RosterAssignment(Base):
    """A member serves a shift on every day it runs between ``valid_from`` and ``valid_to``."""

    __tablename__ = "roster_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("shift_id", "member_id", "valid_from"),)


class DutyPost(Base):
    """A post (岗位) of a unit where a QR code is displayed; members scan it to go on duty."""

    __tablename__ = "duty_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    token_version: Mapped[int] = mapped_column(Integer, default=1)  # rotation invalidates prints
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class UnitHelper(Base):
    """A member of another unit registered to help (and so check in) at this unit."""

    __tablename__ = "unit_helpers"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)


class DutySession(Base):
    """One stretch on duty (在岗), from check-in to check-out. At most one open per member."""

    __tablename__ = "duty_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("duty_posts.id", ondelete="SET NULL"))
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id", ondelete="SET NULL"))
    as_helper: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    check_in_lon: Mapped[float] = mapped_column(Float)
    check_in_lat: Mapped[float] = mapped_column(Float)
    check_in_accuracy_m: Mapped[float | None] = mapped_column(Float)
    check_in_distance_m: Mapped[float] = mapped_column(Float)
    auto_checkout_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_out_reason: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        Index("ix_duty_sessions_member", "member_id", "checked_in_at"),
        # the database itself refuses a second open session, even under concurrent scans
        Index(
            "uq_duty_sessions_open_member",
            "member_id",
            unique=True,
            sqlite_where=text("checked_out_at IS NULL"),
            postgresql_where=text("checked_out_at IS NULL"),
        ),
    )


class DutyAudit(Base):
    """Every check-in, check-out and refused attempt, with who did it and why."""

    __tablename__ = "duty_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(Text, default="")


class ServerSecret(Base):
    """Secrets generated once and shared by every worker (the QR signing key)."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
