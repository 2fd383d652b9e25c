"""Mediation cases, their parties and sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiefang.db import Base, UTCDateTime, utcnow


class MediationCase(Base):
    """A dispute (矛盾纠纷) a member mediates: ends in an agreement or is escalated."""

    __tablename__ = "mediation_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_type: Mapped[str] = mapped_column(String(24), index=True)
    summary: Mapped[str] = mapped_column(Text)
    district_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    mediator_member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("hazard_reports.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open, agreement, escalated
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    parties: Mapped[list[CaseParty]] = relationship(cascade="all, delete-orphan", order_by="CaseParty.id")
    sessions: Mapped[list[MediationSession]] = relationship(
        cascade="all, delete-orphan", order_by="MediationSession.id"
    )


class CaseParty(Base):
    """A party to a dispute; their phone and ID number are personal data, shown only where needed."""

    __tablename__ = "mediation_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("mediation_cases.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(20))
    id_number: Mapped[str | None] = mapped_column(String(18))
    side: Mapped[str] = mapped_column(String(12))  # applicant or respondent


class MediationSession(Base):
    """One mediation meeting of a case."""

    __tablename__ = "mediation_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("mediation_cases.id", ondelete="CASCADE"), index=True)
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
