"""In-process event bus: services publish domain events after their commit; the WebSocket hub
and the live tracker subscribe.

Every event gets a sequence number, increasing for the life of the process, and the last
``keep`` events are held so a client that reconnects can ask for what it missed (``since``).
Publishing is thread-safe: synchronous endpoints run in a thread pool.

With several workers (``JIEFANG_REDIS_URL`` set) the bus is ``jiefang.events_redis.RedisEventBus``:
numbers are global and events of other workers are handed to the subscribers that ask for them
(``remote=True``). Subscribers that only deliver (the WebSocket hub) or keep this worker's own
picture in step (the tracker) want them; anything that writes shared state must not, since the
worker where the event happened already wrote it.
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
        self._handlers: list[tuple[Handler, bool, bool]] = []  # handler, wants this/other workers' events
        self._recent: deque[Event] = deque(maxlen=keep)
        self._seq = itertools.count(1)
        self._last = 0  # number of the latest event, kept or not
        self._evicted = 0  # number of the latest kept event pushed out of the window

    def subscribe(self, handler: Handler, *, local: bool = True, remote: bool = False) -> Callable[[], None]:
        """Call ``handler`` with every event published from now on: this worker's (``local``) and
        other workers' (``remote``, when there are any); return the unsubscribe function."""
        entry = (handler, local, remote)
        with self._lock:
            self._handlers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._handlers:
                    self._handlers.remove(entry)

        return unsubscribe

    def start(self) -> None:
        """Begin receiving other workers' events (nothing to do in one process)."""

    def close(self) -> None:
        """Stop receiving other workers' events (nothing to do in one process)."""

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
        self._hand_out(event, remote=False)
        return event

    def _hand_out(self, event: Event, *, remote: bool) -> None:
        """Call the subscribers wanting this worker's (other workers', if ``remote``) events; log failures."""
        with self._lock:
            handlers = [h for h, local, remote_too in self._handlers if (remote_too if remote else local)]
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                log.exception("event subscriber failed on %s #%s", event["type"], event["seq"])

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
