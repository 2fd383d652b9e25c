"""Ways an alert reaches a member besides the app's WebSocket: SMS and voice-call gateways.

A notifier reports what it did; it never claims a delivery it did not make. The default one
only writes the alert to the log (status ``logged``), so an installation without a gateway says
so in every assignment instead of pretending the SMS went out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    """What a member is asked to do: go to an incident for a tier, answer by a time."""

    assignment_id: int
    member_id: int
    incident_id: int
    incident_type: str
    tier: str
    lon: float
    lat: float
    address: str | None
    eta_s: float
    answer_by_iso: str | None
    drill: bool = False


class Notifier(Protocol):
    """A channel to members outside the app (SMS, voice)."""

    name: str

    def notify(self, alert: Alert) -> str:
        """Hand the alert to the channel; return its status (e.g. ``queued:<id>``). Raises on failure."""
        ...


class LoggingNotifier:
    """Writes alerts to the log; stands in where no SMS/voice gateway is configured."""

    name = "log"

    def notify(self, alert: Alert) -> str:
        log.info("alert member=%s incident=%s tier=%s eta_s=%.0f answer_by=%s%s", alert.member_id,
                 alert.incident_id, alert.tier, alert.eta_s, alert.answer_by_iso, " DRILL" if alert.drill else "")
        return "logged"
