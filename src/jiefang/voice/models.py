"""Talk groups (通话组), their recorded transmissions and text messages.

Unit, team, grid and incident groups follow the data: who belongs is worked out from the unit
roster, the grid, or the incident's accepted responders each time, so nobody has to keep
lists in step. Ad-hoc groups (from a map selection) list their members.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jiefang.db import Base, UTCDateTime, utcnow


class TalkGroup(Base):
    __tablename__ = "talk_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # unit, team, grid, incident, adhoc
    ref_id: Mapped[int | None] = mapped_column(Integer)  # the unit, team, grid or incident; none for ad hoc
    name: Mapped[str] = mapped_column(String(200))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "ref_id", name="uq_talk_groups_kind_ref"),)


class TalkGroupMember(Base):
    """A member of an ad-hoc talk group."""

    __tablename__ = "talk_group_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("talk_groups.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)

    __table_args__ = (UniqueConstraint("group_id", "member_id", name="uq_talk_group_members_group_member"),)


class Transmission(Base):
    """One press of the talk button: who spoke, when, for how long, and where the audio is kept."""

    __tablename__ = "voice_transmissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("talk_groups.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    speaker: Mapped[str] = mapped_column(String(80))
    mime: Mapped[str] = mapped_column(String(60))
    path: Mapped[str] = mapped_column(String(300))  # relative to the voice directory
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    ended_reason: Mapped[str | None] = mapped_column(String(16))  # released, max_length, preempted, dropped

    __table_args__ = (Index("ix_voice_transmissions_group_started", "group_id", "started_at"),)


class TalkMessage(Base):
    """A text message in a talk group."""

    __tablename__ = "talk_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("talk_groups.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    author: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_talk_messages_group_at", "group_id", "at"),)
