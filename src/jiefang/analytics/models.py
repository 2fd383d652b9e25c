"""Governance index history: one row per area and month, with the parts that made the score."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jiefang.db import Base, UTCDateTime, utcnow


class IndexScore(Base):
    """An area's governance index (综治指数) for one month; ``parts`` is the JSON decomposition."""

    __tablename__ = "index_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    parts: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("period", "area_id"),
        Index("ix_index_scores_area_period", "area_id", "period"),
    )
