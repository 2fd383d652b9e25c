"""Group commands (群指令) and each recipient's receipt: delivered, read, replied.

A command and all its receipts are written in one transaction before anyone is told, so a
command that was accepted reaches every recipient's inbox even if the server stops at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jiefang.db import Base, UTCDateTime, utcnow


class GroupCommand(Base):
    """A text command sent by an operator to the members on duty inside a map selection."""

    __tablename__ = "group_commands"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(8))  # normal, urgent, flash
    reply_required: Mapped[bool] = mapped_column(Boolean, default=False)
    selection: Mapped[str] = mapped_column(Text)  # the selection as sent (JSON), for the audit
    district_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)  # the sender's scope
    sent_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    sender: Mapped[str] = mapped_column(String(80))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    recipients: Mapped[int] = mapped_column(Integer)


class CommandReceipt(Base):
    """One recipient of a command and how far it got with them."""

    __tablename__ = "command_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    command_id: Mapped[int] = mapped_column(ForeignKey("group_commands.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("command_id", "member_id", name="uq_command_receipts_command_member"),
        Index("ix_command_receipts_member", "member_id", "command_id"),
    )
