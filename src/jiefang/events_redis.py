"""The event bus shared by several API workers through Redis.

Keys under ``<prefix>:events``: a counter (``:seq``) numbering the events of every worker, a
capped stream of the kept events (``:kept``, the replay window a reconnecting client is served
from, whichever worker it reconnects to), a small capped stream of the snapshots not kept
(``:live``, position feeds) and the number of the latest kept event pushed out of the window
(``:evicted``), and a random ``:epoch`` set with the first event, by which a listener sees that
Redis lost its data (restarted empty) and numbering began again. One Lua script numbers an event
and appends it, so stream order is number order; an entry's id is ``<seq>-0`` and a replay is
one XRANGE from ``since + 1``. The script touches keys derived from the prefix: on Redis Cluster
put a hash tag in the prefix (``jf:{ev}``) to keep them in one slot.

Local subscribers are still called synchronously in ``publish``. A listener thread reads both
streams (XREAD BLOCK) and hands the other workers' events to the subscribers that asked for them
(``subscribe(..., remote=True)``). When Redis cannot be reached, ``publish`` numbers the event
locally and delivers it here only (logged); for a while afterwards a replay is reported
incomplete, so reconnecting clients reload their state. The listener logs and reconnects, going
on from the last entry it read.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from jiefang.events import Event, EventBus

log = logging.getLogger(__name__)
LIVE_KEEP = 200  # snapshots a slow listener may catch up on (seconds of them; each may be large)
READ_BLOCK_MS = 250  # also how long closing waits for the listener
READ_COUNT = 500
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)  # listener back-off after a Redis error
UNSHARED_RESYNC_S = 60.0  # after a locally numbered event, replays say "reload" this long

Replies = list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]  # XREAD: per stream, (id, fields)

_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[5], ARGV[6], 'NX')
local id = seq .. '-0'
if ARGV[1] == '1' then
  local maxlen = tonumber(ARGV[2])
  if redis.call('XLEN', KEYS[2]) >= maxlen then
    local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
    redis.call('SET', KEYS[4], string.match(first[1], '^(%d+)'))
  end
  redis.call('XADD', KEYS[2], 'MAXLEN', maxlen, id, 'o', ARGV[3], 'b', ARGV[4])
else
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], id, 'o', ARGV[3], 'b', ARGV[4])
end
return seq
"""


def _seq_of(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


class RedisEventBus(EventBus):
    """An ``EventBus`` whose numbers, replay window and events are shared through Redis."""

    def __init__(self, client: redis.Redis, prefix: str, keep: int = 5000, reader: redis.Redis | None = None) -> None:
        """``client`` publishes and replays; ``reader`` (``client`` if unset) does the listener's
        blocking reads, so it needs a socket timeout above ``READ_BLOCK_MS``."""
        super().__init__(keep=keep)
        self._redis = client
        self._reader = reader or client
        self._keep_n = keep
        base = f"{prefix}:events"
        self._keys = [f"{base}:seq", f"{base}:kept", f"{base}:live", f"{base}:evicted", f"{base}:epoch"]
        self._script = client.register_script(_PUBLISH)
        self.origin = uuid.uuid4().hex
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self._unshared_at = float("-inf")  # monotonic time of the latest event not shared

    def publish(self, type_: str, *, keep: bool = True, **payload: Any) -> Event:
        """Number the event in Redis and append it to the shared streams, then hand it to the
        local subscribers; return it. Redis down: numbered and delivered here only (logged)."""
        body: dict[str, Any] = {"type": type_, "at": datetime.now(UTC).isoformat(), **payload}
        try:
            text = json.dumps(body, ensure_ascii=False, default=str)  # as a client would read it
            seq = int(self._script(keys=self._keys, args=[
                "1" if keep else "0", self._keep_n, self.origin, text, LIVE_KEEP, uuid.uuid4().hex]))
        except redis.RedisError as exc:
            with self._lock:
                seq = self._last + 1
                self._unshared_at = time.monotonic()
            log.warning("event %s #%s delivered in this worker only, Redis failed: %s", type_, seq, exc)
        event: Event = {"seq": seq, **body}
        self._note(seq)
        self._hand_out(event, remote=False)
        return event

    def replay(self, seq: int) -> tuple[list[Event], bool]:
        """Return the kept events after ``seq`` from the shared window and whether they are complete
        (see ``EventBus.replay``); when Redis fails, none and incomplete."""
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.get(self._keys[0])
            pipe.get(self._keys[3])
            pipe.xrange(self._keys[1], min=f"{seq + 1}-0", max="+")
            last, evicted, entries = pipe.execute()
        except redis.RedisError as exc:
            log.warning("replay after #%s refused, Redis failed: %s", seq, exc)
            return [], False
        events = [{"seq": _seq_of(_text(i)), **json.loads(f[b"b"])} for i, f in entries]
        recent_gap = time.monotonic() - self._unshared_at < UNSHARED_RESYNC_S
        return events, int(evicted or 0) <= seq <= int(last or 0) and not recent_gap

    @property
    def last_seq(self) -> int:
        """Return the number of the latest event of any worker (this worker's latest if Redis fails)."""
        try:
            shared = int(self._redis.get(self._keys[0]) or 0)
        except redis.RedisError:
            shared = 0
        with self._lock:
            return max(self._last, shared)

    def start(self) -> None:
        """Start the listener thread handing other workers' events to the local subscribers: every
        event published after this returns (or, if Redis is away now, after it is reached)."""
        if self._listener is None:
            self._stop.clear()
            try:
                here = self._position()
            except redis.RedisError as exc:
                log.warning("other workers' events not read until Redis answers: %s", exc)
                here = None
            self._listener = threading.Thread(target=self._listen, args=(here,), name="events-from-redis",
                                              daemon=True)
            self._listener.start()

    def close(self) -> None:
        """Stop the listener (it notices within the read's block time)."""
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=READ_BLOCK_MS / 1000 + 2)
            self._listener = None

    def _note(self, seq: int) -> None:
        with self._lock:
            self._last = max(self._last, seq)

    def _position(self) -> tuple[Any, dict[str, str]]:
        """Return Redis's epoch (None before any event) and the read cursor of "from now on"."""
        epoch, last = cast(list[Any], self._reader.mget(self._keys[4], self._keys[0]))
        start = f"{int(last or 0)}-0"
        return epoch, {self._keys[1]: start, self._keys[2]: start}

    def _listen(self, here: tuple[Any, dict[str, str]] | None) -> None:
        epoch, cursor = here if here is not None else (None, None)
        failures = 0
        while not self._stop.is_set():
            try:
                if cursor is None:  # first connection: from now on, not the history
                    epoch, cursor = self._position()
                elif failures and (now := self._reader.get(self._keys[4])) != epoch:
                    # a new epoch: every event there is came after we looked (none then, or Redis
                    # restarted empty and numbers began again), so read them all
                    if epoch is not None:
                        log.warning("Redis lost its events (restarted empty?): reading the new ones from the start")
                    epoch = now
                    cursor = {self._keys[1]: "0-0", self._keys[2]: "0-0"}
                replies = cast(Replies, self._reader.xread(
                    cast(dict[Any, Any], cursor), count=READ_COUNT, block=READ_BLOCK_MS))
            except redis.RedisError as exc:
                if self._stop.is_set():
                    break
                pause = RETRY_S[min(failures, len(RETRY_S) - 1)]
                failures += 1
                log.warning("reading other workers' events failed (%s); retrying in %.1f s", exc, pause)
                self._stop.wait(pause)
                continue
            if failures:
                log.info("reading other workers' events again after %d failures", failures)
                failures = 0
            for stream, entries in replies or ():
                for entry_id, fields in entries:
                    cursor[_text(stream)] = _text(entry_id)
                    if _text(fields[b"o"]) != self.origin:
                        self._receive(_seq_of(_text(entry_id)), fields[b"b"])

    def _receive(self, seq: int, body: bytes) -> None:
        try:
            event: Event = {"seq": seq, **json.loads(body)}
        except ValueError:
            log.exception("unreadable event #%s from another worker", seq)
            return
        self._note(seq)
        self._hand_out(event, remote=True)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def quick_client(redis_url: str) -> redis.Redis:
    """Return a client that gives up within about a second when Redis is away (one retry)."""
    return redis.Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=1,
                                retry=Retry(NoBackoff(), 1))


def make_bus(redis_url: str | None, prefix: str) -> EventBus:
    """Return the in-process bus, or the Redis-shared one when ``redis_url`` is set."""
    if not redis_url:
        return EventBus()
    # a request publishing while Redis is away waits about a second, not redis-py's default
    # retries; the listener's socket timeout must stay above its block time
    client = quick_client(redis_url)
    reader = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=READ_BLOCK_MS / 1000 + 5)
    return RedisEventBus(client, prefix, reader=reader)
