"""Shapes of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

AuditKind = Literal["action", "view"]


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    account_id: int
    username: str
    role: str
    district_id: int | None
    kind: str
    method: str
    route: str
    target: str
    status: int
    client_ip: str
