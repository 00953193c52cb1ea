"""Sliding-window rate limiters keyed by session.

Keys are conversation ids (or client addresses), so reconnecting does not reset a
customer's budget. ``RateLimiter`` counts inside one process; ``RedisRateLimiter``
shares one budget between every server instance that uses the same Redis, and falls
back to counting in process while Redis is unreachable (rate limiting must never take
the chat down). ``rate_limiter()`` picks one from the settings' Redis URL.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

KEY_PREFIX = "loan-agent:ratelimit:"
MIN_WAIT_SECONDS = 0.01


class Limiter(Protocol):
    def hit(self, key: str) -> float:
        """Record one event; 0.0 when allowed, else the seconds to wait (nothing recorded)."""
        ...


class RateLimiter:
    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Record one event; 0.0 when allowed, else the seconds to wait (nothing recorded)."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(self.window - (now - hits[0]), MIN_WAIT_SECONDS)
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle keys now and then
                self._prune(now)
            return 0.0

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window]:
            del self._hits[key]


# One sorted set per key: members are hits, scores their Redis server time in
# microseconds (so instances with skewed clocks agree). Atomic, as a script is.
# KEYS[1] the key; ARGV: limit, window (µs), a unique member. Returns 0 when the hit
# is recorded, else the microseconds until the oldest hit leaves the window.
_SLIDING_WINDOW = """
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, math.ceil(window / 1000))
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
if oldest[2] == nil then return window end
return math.max(tonumber(oldest[2]) + window - now, 1)
"""


class RedisRateLimiter:
    """A sliding window shared by every server instance through Redis.

    Same ``hit`` contract as ``RateLimiter``. While Redis fails (refused, timed out…)
    hits are counted by an in-process ``RateLimiter`` instead, a warning is logged once
    per outage, and Redis is retried after ``retry_after_error`` seconds (so a Redis
    that hangs does not stall every frame by its socket timeout).
    """

    def __init__(
        self,
        name: str,
        limit: int,
        window_seconds: float,
        url: str,
        *,
        socket_timeout: float = 0.5,
        retry_after_error: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.name = name
        self.limit = limit
        self.window = window_seconds
        self._prefix = f"{KEY_PREFIX}{name}:"
        self._window_us = max(round(window_seconds * 1_000_000), 1)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._client = redis.Redis.from_url(
            url,
            socket_connect_timeout=socket_timeout,
            socket_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 1),  # one quick retry (a stale pooled connection)
        )
        self._script: Any = self._client.register_script(_SLIDING_WINDOW)
        self.fallback = RateLimiter(limit, window_seconds, clock)
        self._clock = clock
        self._retry_after_error = retry_after_error
        self._down_until: float | None = None
        self._warned = False
        self._lock = threading.Lock()

    def key(self, key: str) -> str:
        return self._prefix + key

    def hit(self, key: str) -> float:
        """Record one event; 0.0 when allowed, else the seconds to wait (nothing recorded)."""
        if self._down_until is not None and self._clock() < self._down_until:
            return self.fallback.hit(key)
        try:
            waited_us = self._script(
                keys=[self.key(key)], args=[self.limit, self._window_us, uuid.uuid4().hex]
            )
        except self._errors as exc:
            self._failed(exc)
            return self.fallback.hit(key)
        if self._down_until is not None:
            self._recovered()
        if not waited_us:
            return 0.0
        return max(int(waited_us) / 1_000_000, MIN_WAIT_SECONDS)

    def close(self) -> None:
        self._client.close()

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self._down_until = self._clock() + self._retry_after_error
            if self._warned:
                return
            self._warned = True
        log.warning(
            "rate limiter %r: Redis unavailable (%s: %s); counting in this process only "
            "until it is back",
            self.name,
            type(exc).__name__,
            exc,
        )

    def _recovered(self) -> None:
        with self._lock:
            self._down_until = None
            was_warned, self._warned = self._warned, False
        if was_warned:
            log.info("rate limiter %r: Redis is back; the budget is shared again", self.name)


def rate_limiter(
    name: str, limit: int, window_seconds: float, redis_url: str | None
) -> RateLimiter | RedisRateLimiter:
    """Shared through Redis when ``redis_url`` is set, else counted in this process."""
    if redis_url:
        return RedisRateLimiter(name, limit, window_seconds, redis_url)
    return RateLimiter(limit, window_seconds)
