"""Floor control of push-to-talk: one speaker per talk group, as on a radio.

Pure and in memory: who holds each group's floor, since when, and whether they may be
pre-empted. A lock makes "press" atomic, so two members pressing at the same moment never both
get the floor. Expiry (the maximum transmission length) is checked by the caller's clock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Holder:
    """Who holds a group's floor."""

    speaker_key: str  # the connection holding it
    speaker: str  # the name shown to listeners
    operator: bool
    since: float  # monotonic seconds


@dataclass(frozen=True)
class Grant:
    granted: bool
    holder: Holder | None  # the new holder when granted, the current one when busy
    preempted: Holder | None = None  # the holder whose floor was taken away


class FloorControl:
    """The floor of every talk group; thread-safe."""

    def __init__(self, max_tx_s: float) -> None:
        self.max_tx_s = max_tx_s
        self._holders: dict[int, Holder] = {}
        self._lock = threading.Lock()

    def press(self, group_id: int, candidate: Holder, preempt: bool = False) -> Grant:
        """Ask for the floor. Granted when free, when the holder ran past the maximum length, or
        when an operator pre-empts a member. Pressing again while holding it keeps the holder."""
        with self._lock:
            current = self._holders.get(group_id)
            if current is not None and current.speaker_key == candidate.speaker_key:
                return Grant(True, current)
            expired = current is not None and candidate.since - current.since >= self.max_tx_s
            may_take = preempt and candidate.operator and current is not None and not current.operator
            if current is None or expired or may_take:
                self._holders[group_id] = candidate
                return Grant(True, candidate, preempted=current)
            return Grant(False, current)

    def release(self, group_id: int, speaker_key: str) -> Holder | None:
        """Give the floor back; return the holder released, or None if ``speaker_key`` did not hold it."""
        with self._lock:
            current = self._holders.get(group_id)
            if current is None or current.speaker_key != speaker_key:
                return None
            del self._holders[group_id]
            return current

    def holder(self, group_id: int) -> Holder | None:
        return self._holders.get(group_id)

    def expired(self, now: float) -> list[tuple[int, Holder]]:
        """Take away and return every floor held longer than the maximum transmission length."""
        with self._lock:
            gone = [(g, h) for g, h in self._holders.items() if now - h.since >= self.max_tx_s]
            for g, _ in gone:
                del self._holders[g]
            return gone
