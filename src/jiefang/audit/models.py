"""The audit log table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from jiefang.db import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One operator action or one view of personal data (审计记录).

    Who is copied (username, role, district) rather than only referenced, so the record outlives
    the account.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_account_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    account_id: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(24))
    district_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(12))  # action, or view (of personal data)
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(200), index=True)
    target: Mapped[str] = mapped_column(String(400), default="")
    status: Mapped[int] = mapped_column(Integer)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
