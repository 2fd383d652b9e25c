"""Rate limits on login and public intake: fixed-window counters, in memory or in Redis.

Login is limited per client IP (generous: a whole site may sit behind one address at a shift
change) and, strictly, per username on failures: after ``login_failures_max`` wrong passwords in
``login_failure_window_s`` the username is locked until the window ends, whatever the password.
Report intake (Open311 and the other writes open to integrators) is limited per client IP.

With ``JIEFANG_REDIS_URL`` set the counters live in Redis, shared by every worker; otherwise in
this process's memory. A Redis outage lets requests through (logged): an emergency platform keeps
answering rather than locking everyone out.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import redis

from jiefang.config import Settings
from jiefang.errors import TooManyRequests
from jiefang.events_redis import quick_client

log = logging.getLogger(__name__)


class Counters(Protocol):
    def hit(self, key: str, window_s: float) -> tuple[int, float]:
        """Count one event under ``key``; return (events in the current window, seconds it has left)."""

    def peek(self, key: str) -> tuple[int, float]:
        """Return (events in the current window, seconds it has left) without counting."""

    def reset(self, key: str) -> None:
        """Forget the events under ``key``."""


class MemoryCounters:
    """Counters of this process (one worker)."""

    PRUNE_AT = 10_000

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window_s: float) -> tuple[int, float]:
        now = time.monotonic()
        with self._lock:
            count, ends = self._windows.get(key, (0, 0.0))
            if ends <= now:
                count, ends = 0, now + window_s
                if len(self._windows) >= self.PRUNE_AT:
                    self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
            self._windows[key] = (count + 1, ends)
            return count + 1, ends - now

    def peek(self, key: str) -> tuple[int, float]:
        now = time.monotonic()
        count, ends = self._windows.get(key, (0, 0.0))
        return (count, ends - now) if ends > now else (0, 0.0)

    def reset(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)


class RedisCounters:
    """Counters in Redis, shared by every worker (keys expire with their window)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def hit(self, key: str, window_s: float) -> tuple[int, float]:
        k = f"{self.prefix}:{key}"
        pipe = self.client.pipeline(transaction=True)
        pipe.set(k, 0, px=max(1, int(window_s * 1000)), nx=True)
        pipe.incr(k)
        pipe.pttl(k)
        _, count, ttl_ms = pipe.execute()
        return int(count), max(int(ttl_ms), 0) / 1000

    def peek(self, key: str) -> tuple[int, float]:
        k = f"{self.prefix}:{key}"
        pipe = self.client.pipeline(transaction=False)
        pipe.get(k)
        pipe.pttl(k)
        count, ttl_ms = pipe.execute()
        return (int(count), int(ttl_ms) / 1000) if count is not None and int(ttl_ms) > 0 else (0, 0.0)

    def reset(self, key: str) -> None:
        self.client.delete(f"{self.prefix}:{key}")


class RateLimiter:
    """The login and intake limits of ``settings`` over ``counters``."""

    def __init__(self, settings: Settings, counters: Counters) -> None:
        self.settings = settings
        self.counters = counters

    def _hit(self, key: str, window_s: float) -> tuple[int, float]:
        try:
            return self.counters.hit(key, window_s)
        except redis.RedisError as exc:
            log.error("rate limit counter %s unavailable, request let through: %s", key, exc)
            return 0, 0.0

    def _peek(self, key: str) -> tuple[int, float]:
        try:
            return self.counters.peek(key)
        except redis.RedisError as exc:
            log.error("rate limit counter %s unavailable, request let through: %s", key, exc)
            return 0, 0.0

    def check_login(self, client_ip: str, username: str) -> None:
        """Count a login attempt; raises TooManyRequests if the IP or the username is over its limit."""
        s = self.settings
        count, left_s = self._hit(f"login-ip:{client_ip}", s.login_ip_window_s)
        if count > s.login_ip_limit:
            raise TooManyRequests(f"too many logins from your address: try again in {left_s:.0f} s", left_s)
        failures, left_s = self._peek(f"login-fail:{username.lower()}")
        if failures >= s.login_failures_max:
            raise TooManyRequests(
                f"too many failed logins for {username}: locked, try again in {left_s:.0f} s", left_s)

    def login_failed(self, username: str) -> None:
        """Count a failed login of ``username`` (towards its lockout)."""
        self._hit(f"login-fail:{username.lower()}", self.settings.login_failure_window_s)

    def login_succeeded(self, username: str) -> None:
        """Forget the failures of ``username``."""
        try:
            self.counters.reset(f"login-fail:{username.lower()}")
        except redis.RedisError as exc:
            log.error("rate limit counters unavailable, failures of %s kept: %s", username, exc)

    def check_intake(self, client_ip: str) -> None:
        """Count a report submitted from ``client_ip``; raises TooManyRequests over the limit."""
        s = self.settings
        count, left_s = self._hit(f"intake-ip:{client_ip}", s.intake_window_s)
        if count > s.intake_ip_limit:
            raise TooManyRequests(f"too many reports from your address: try again in {left_s:.0f} s", left_s)


def build_rate_limiter(settings: Settings) -> RateLimiter:
    """Return the limiter of ``settings``: Redis counters when a Redis URL is set, else in memory."""
    if settings.redis_url:
        # a login while Redis is away waits about a second, then goes through uncounted
        return RateLimiter(settings, RedisCounters(quick_client(settings.redis_url), f"{settings.redis_prefix}:rl"))
    return RateLimiter(settings, MemoryCounters())
