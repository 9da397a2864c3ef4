"""Token buckets per API key: in this process by default, in Redis (one atomic Lua script per request)
when RAPPORT_REDIS_URL is set, so every gateway replica spends from the same bucket."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from rapport.config import RateLimit

log = logging.getLogger("gateway.ratelimit")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: float
    retry_after: float  # seconds until one token is back (0 when allowed)


def take(tokens: float, elapsed: float, limit: RateLimit) -> tuple[Decision, float]:
    """One request against a bucket holding `tokens`, refilled for `elapsed` seconds; returns the
    decision and the tokens left. The same arithmetic as the Lua script below."""
    tokens = min(float(limit.burst), tokens + max(0.0, elapsed) * limit.per_second)
    if tokens >= 1:
        return Decision(True, tokens - 1, 0.0), tokens - 1
    return Decision(False, tokens, (1 - tokens) / limit.per_second), tokens


class Buckets(Protocol):
    async def check(self, key: str, limit: RateLimit) -> Decision: ...

    async def close(self) -> None: ...


class LocalBuckets:
    """Buckets in this process (one replica, or per-replica limits)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self.state: dict[str, tuple[float, float]] = {}

    async def check(self, key: str, limit: RateLimit) -> Decision:
        return self.check_now(key, limit)

    def check_now(self, key: str, limit: RateLimit) -> Decision:
        now = self.clock()
        if len(self.state) >= self.max_keys and key not in self.state:
            self.state.clear()  # forgetting every bucket only ever grants a burst too many, never too few
        tokens, at = self.state.get(key, (float(limit.burst), now))
        decision, left = take(tokens, now - at, limit)
        self.state[key] = (left, now)
        return decision

    async def close(self) -> None:
        return None


# Time comes from the Redis server, so replicas whose clocks disagree still share one bucket correctly.
# Numbers go back as strings: Redis truncates Lua numbers to integers.
TOKEN_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(tokens), tostring(retry)}
"""


class RedisBuckets:
    """Buckets shared by every replica through Redis. If Redis fails, this replica falls back to its
    own buckets (logged) rather than refusing traffic: a limit is protection, not authentication."""

    def __init__(self, url: str, *, prefix: str = "rapport:ratelimit:") -> None:
        import redis.asyncio as redis

        self.client: Any = redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.script = self.client.register_script(TOKEN_BUCKET_LUA)
        self.prefix = prefix
        self.fallback = LocalBuckets()
        self._warned_at = -math.inf

    async def check(self, key: str, limit: RateLimit) -> Decision:
        try:
            allowed, remaining, retry = await self.script(
                keys=[self.prefix + key], args=[limit.per_second, limit.burst]
            )
        except Exception as error:
            if time.monotonic() - self._warned_at > 60:
                self._warned_at = time.monotonic()
                log.warning(
                    "redis rate limiting unavailable; using this replica's buckets", extra={"error": str(error)}
                )
            return self.fallback.check_now(key, limit)
        return Decision(bool(int(allowed)), float(remaining), float(retry))

    async def close(self) -> None:
        await self.client.aclose()


def make_buckets(redis_url: str | None) -> Buckets:
    return RedisBuckets(redis_url) if redis_url else LocalBuckets()
