"""In-process event bus: services publish domain events after their commit; the WebSocket hub
and the live tracker subscribe.

Every event gets a sequence number, increasing for the life of the process, and the last
``keep`` events are held so a client that reconnects can ask for what it missed (``since``).
Publishing is thread-safe: synchronous endpoints run in a thread pool.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

Event = dict[str, Any]
Handler = Callable[[Event], None]


class EventBus:
    """Publish/subscribe of events (dicts with a ``type``); see the module docstring."""

    def __init__(self, keep: int = 5000) -> None:
        self._lock = threading.Lock()
        self._handlers: list[Handler] = []
        self._recent: deque[Event] = deque(maxlen=keep)
        self._seq = itertools.count(1)
        self._last = 0  # number of the latest event, kept or not
        self._evicted = 0  # number of the latest kept event pushed out of the window

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` with every event published from now on; return the unsubscribe function."""
        with self._lock:
            self._handlers.append(handler)

        def unsubscribe() -> None:
            with self._lock:
                if handler in self._handlers:
                    self._handlers.remove(handler)

        return unsubscribe

    def publish(self, type_: str, *, keep: bool = True, **payload: Any) -> Event:
        """Number the event, keep it for replay (unless ``keep`` is false: a snapshot that the next
        one supersedes), and hand it to every subscriber; return it.

        A failing subscriber is logged and does not stop the others.
        """
        with self._lock:
            event: Event = {"seq": next(self._seq), "type": type_, "at": datetime.now(UTC).isoformat(), **payload}
            self._last = event["seq"]
            if keep:
                if len(self._recent) == self._recent.maxlen:
                    self._evicted = self._recent[0]["seq"]
                self._recent.append(event)
            handlers = list(self._handlers)
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                log.exception("event subscriber failed on %s #%s", type_, event["seq"])
        return event

    def replay(self, seq: int) -> tuple[list[Event], bool]:
        """Return the kept events after ``seq`` and whether they are complete.

        Incomplete (the client should reload its state) when events after ``seq`` were already
        dropped, or when ``seq`` is ahead of this bus (the server restarted).
        """
        with self._lock:
            events = [e for e in self._recent if e["seq"] > seq]
            return events, self._evicted <= seq <= self._last

    @property
    def last_seq(self) -> int:
        """Return the number of the latest event (0 before any)."""
        with self._lock:
            return self._last
