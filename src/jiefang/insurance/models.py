"""Insurance policies of members."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jiefang.db import Base, UTCDateTime, utcnow


class InsurancePolicy(Base):
    """A member's insurance cover (意外伤害保险 and the like) from ``starts_on`` to ``ends_on`` inclusive."""

    __tablename__ = "insurance_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    insurer: Mapped[str] = mapped_column(String(80), index=True)
    policy_no: Mapped[str] = mapped_column(String(40))
    cover: Mapped[str] = mapped_column(String(80))
    cover_amount_yuan: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    reminded_on: Mapped[date | None] = mapped_column(Date)  # expiry reminder sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("insurer", "policy_no", "member_id", name="uq_insurance_policies_policy"),)
