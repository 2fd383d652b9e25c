"""Leases in Redis so that each background job acting on shared state runs in one worker at a time.

A lease is a key ``<prefix>:lease:<job>`` holding the holder's token (host, pid and a random
part, so an operator can see who holds it), taken with SET NX PX and renewed by a compare-and-
PEXPIRE script every third of its time to live. A worker counts a lease as its own only until a
safety margin before the key could expire, so when it is stalled or cut off from Redis it stops
running the job before another worker can take it. A worker killed without releasing its leases
loses them when the keys expire (``ttl_s``); the others take them at their next refresh. At
shutdown the leases are released at once. The conditional UPDATEs of the jobs themselves stay
the second line of defence against a worker paused past its lease.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable

import redis

log = logging.getLogger(__name__)
SAFETY = 0.8  # share of the time to live a worker trusts its lease after a renewal

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Leases:
    """The leases of one worker on a fixed set of named jobs (see the module docstring)."""

    def __init__(self, client: redis.Redis, prefix: str, jobs: Iterable[str], ttl_s: float = 5.0) -> None:
        self._redis = client
        self._keys = {job: f"{prefix}:lease:{job}" for job in jobs}
        self.ttl_s = ttl_s
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._until: dict[str, float] = {}  # job -> monotonic time until which the lease is trusted
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def holds(self, job: str) -> bool:
        """Return whether this worker holds the job's lease now."""
        return self._until.get(job, float("-inf")) > time.monotonic()

    def refresh(self) -> set[str]:
        """Renew the leases held and try to take the free ones; return the jobs now held.

        A Redis error is logged; leases then lapse on their own at the end of their trusted time.
        """
        ttl_ms = int(self.ttl_s * 1000)
        for job, key in self._keys.items():
            asked = time.monotonic()
            try:
                if job in self._until:
                    ours = bool(self._renew(keys=[key], args=[self.token, ttl_ms]))
                else:
                    ours = bool(self._redis.set(key, self.token, nx=True, px=ttl_ms))
            except redis.RedisError as exc:
                log.warning("lease %s not refreshed: %s", job, exc)
                continue
            if ours:
                if job not in self._until:
                    log.info("took the lease of %s (%s)", job, self.token)
                self._until[job] = asked + self.ttl_s * SAFETY
            elif self._until.pop(job, None) is not None:
                log.warning("lost the lease of %s to another worker", job)
        return {job for job in self._keys if self.holds(job)}

    def release(self) -> None:
        """Give up every lease held (at shutdown), so another worker takes over at once."""
        for job in list(self._until):
            try:
                self._release(keys=[self._keys[job]], args=[self.token])
            except redis.RedisError as exc:
                log.warning("lease %s not released (it will expire): %s", job, exc)
        self._until.clear()

    async def keep(self) -> None:
        """Refresh the leases every third of their time to live until cancelled (then ``release``)."""
        while True:
            await asyncio.to_thread(self.refresh)
            await asyncio.sleep(self.ttl_s / 3)
