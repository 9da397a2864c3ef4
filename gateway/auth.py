"""Who is calling and may they: `Authorization: Bearer <key>` -> Caller, checked against the route
table and the caller's token bucket. Secrets are hashed at once and never logged."""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from rapport.config import RateLimit, Settings
from rapport.errors import Forbidden, TooManyRequests, Unauthorized

from . import keys
from .keys import Caller
from .ratelimit import Buckets
from .routes import Route, RouteTable

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="rapport"'}
_DEFAULT_LIMIT = RateLimit(per_second=50, burst=100)


class KeyResolver:
    """Looks keys up by the hash of their secret, caching each answer for `ttl` seconds so the database
    is not asked on every request. `last_used_at` is written on those lookups, so at most once per
    key, replica and `ttl`."""

    def __init__(self, sessions: sessionmaker[Session], *, ttl: float, max_entries: int = 10_000) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: dict[str, tuple[Caller | None, float]] = {}

    async def resolve(self, authorization: str | None) -> Caller:
        """The caller a header names; raises Unauthorized for a missing, malformed, unknown or revoked key."""
        scheme, _, secret = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("Send your API key as `Authorization: Bearer <key>`.", headers=_CHALLENGE)
        digest = keys.hash_secret(secret.strip())
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            caller = cached[0]
        else:
            caller = await run_in_threadpool(self._lookup, digest)
            if len(self._cache) >= self.max_entries:
                self._cache.clear()  # a flood of random keys must not grow memory without bound
            self._cache[digest] = (caller, time.monotonic() + self.ttl)
        if caller is None:
            raise Unauthorized("This API key is unknown or has been revoked.", headers=_CHALLENGE)
        return caller

    def _lookup(self, digest: str) -> Caller | None:
        with self.sessions() as session, session.begin():
            key = session.scalar(keys.active_by_hash(digest))
            if key is None:
                return None
            key.last_used_at = keys.now()
            return keys.caller_of(key)

    def forget(self, key_id: str) -> None:
        """Drop a key from this replica's cache at once (after a revocation here)."""
        self._cache = {
            digest: entry for digest, entry in self._cache.items() if entry[0] is None or entry[0].key_id != key_id
        }


class Gatekeeper:
    """Authentication, rate limits and role checks for one route, in that order."""

    def __init__(self, resolver: KeyResolver, buckets: Buckets, settings: Settings) -> None:
        self.resolver = resolver
        self.buckets = buckets
        self.limits = settings.gateway_rate_limits

    def limit_for(self, caller: Caller) -> RateLimit:
        return self.limits.get(caller.role.value, _DEFAULT_LIMIT)

    async def admit(self, route: Route, authorization: str | None) -> Caller | None:
        """The caller allowed on `route` (None on a public route).

        Raises Unauthorized (401), TooManyRequests (429 with Retry-After) or Forbidden (403)."""
        if route.roles is None:
            return None
        caller = await self.resolver.resolve(authorization)
        limit = self.limit_for(caller)
        decision = await self.buckets.check(caller.key_id, limit)
        if not decision.allowed:
            seconds = max(1, math.ceil(decision.retry_after))
            raise TooManyRequests(
                f"Rate limit of the {caller.role.value} role reached ({limit.per_second:g} requests/s, bursts of "
                f"{limit.burst}); retry after {seconds} s.",
                headers={"Retry-After": str(seconds)},
            )
        if not route.allows(caller.role):
            allowed = ", ".join(sorted(role.value for role in route.roles))
            raise Forbidden(
                f"A {caller.role.value} key may not call {route.method} {route.path}; it needs one of: {allowed}."
            )
        return caller


async def current_caller(request: Request) -> Caller | None:
    """Dependency of the gateway's own routes: admits the caller of the route the table declares for
    this handler (a handler missing from the table is a bug, answered 500)."""
    table: RouteTable = request.app.state.routes
    pattern = getattr(request.scope.get("route"), "path", "")
    route = table.declared(request.method, pattern)
    if route is None:
        raise RuntimeError(f"{request.method} {pattern} is not declared in gateway.routes.ROUTES")
    gatekeeper: Gatekeeper = request.app.state.gatekeeper
    caller = await gatekeeper.admit(route, request.headers.get("authorization"))
    request.state.caller = caller
    return caller


async def required_caller(caller: Annotated[Caller | None, Depends(current_caller)]) -> Caller:
    if caller is None:
        raise RuntimeError("a public route asked for its caller")
    return caller


CallerDep = Annotated[Caller, Depends(required_caller)]
PublicDep = Annotated[Caller | None, Depends(current_caller)]
