"""The route table: every `/api/v1` route of the gateway, who may call it, and where it goes.

One table for routing and permissions, so a route cannot be exposed without its roles being declared,
and a test can walk every role x route. Routes with a `service` are proxied to that service (its path
is the gateway path without `/api`, unless `upstream` says otherwise: two services both have `/v1/runs`);
routes without one are answered by the gateway itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapport.config import Service

from .models import Role

PREFIX = "/api/v1"
ANY = frozenset(Role)
READ = frozenset({Role.frontend, Role.analyst, Role.admin})
ANALYST = frozenset({Role.analyst, Role.admin})
ADMIN = frozenset({Role.admin})
SYNC = frozenset({Role.partner, Role.admin})
WRITE_FEEDBACK = frozenset({Role.frontend, Role.admin})

# A path parameter is one segment, and stops at ":" so `/customers/{id}:merge` parses like the services do.
_PARAM = re.compile(r"\{([a-z_]+)\}")


def _regex(pattern: str) -> re.Pattern[str]:
    parts, last = [], 0
    for match in _PARAM.finditer(pattern):
        parts.append(re.escape(pattern[last : match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/:]+)")
        last = match.end()
    parts.append(re.escape(pattern[last:]))
    return re.compile("".join(parts) + r"\Z")


@dataclass(frozen=True)
class Route:
    """One method + path pattern. `roles` None means public (no key needed)."""

    method: str
    path: str
    roles: frozenset[Role] | None
    service: Service | None = None
    upstream: str | None = None
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    upstream_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", _regex(self.path))
        target = self.upstream_path_pattern
        object.__setattr__(self, "upstream_regex", _regex(target) if target else None)

    @property
    def upstream_path_pattern(self) -> str | None:
        if self.service is None:
            return None
        return self.upstream or self.path.removeprefix("/api")

    def allows(self, role: Role) -> bool:
        return self.roles is None or role in self.roles

    def upstream_path(self, params: dict[str, str]) -> str:
        pattern = self.upstream_path_pattern
        assert pattern is not None, f"{self.path} is answered by the gateway"
        return pattern.format(**params)


def _proxy(method: str, path: str, service: Service, roles: frozenset[Role], upstream: str | None = None) -> Route:
    return Route(method, PREFIX + path, roles, service, upstream)


def _own(method: str, path: str, roles: frozenset[Role] | None) -> Route:
    return Route(method, PREFIX + path, roles)


C, S, R, F = Service.customers, Service.segmentation, Service.recommendation, Service.feedback

# Order matters only where a literal and a parameter compete (`/feedback/stats` before `/feedback/{id}`).
ROUTES: tuple[Route, ...] = (
    # the gateway's own routes
    _own("GET", "/session", ANY),
    _own("GET", "/keys", ADMIN),
    _own("POST", "/keys", ADMIN),
    _own("POST", "/keys/{key_id}:revoke", ADMIN),
    _own("GET", "/customers/{customer_id}/360", READ),
    _own("GET", "/health", None),
    _own("GET", "/openapi.json", None),
    # customers: profiles, sync, search, history
    _proxy("POST", "/customers", C, ADMIN),
    _proxy("GET", "/customers", C, READ),
    _proxy("GET", "/customers/{customer_id}", C, READ),
    _proxy("PATCH", "/customers/{customer_id}", C, ADMIN),
    _proxy("DELETE", "/customers/{customer_id}", C, ADMIN),
    _proxy("GET", "/customers/{customer_id}/orders", C, READ),
    _proxy("GET", "/customers/{customer_id}/interactions", C, READ),
    _proxy("GET", "/customers/{customer_id}/duplicates", C, ANALYST),
    _proxy("POST", "/customers/{customer_id}:merge", C, ADMIN),
    _proxy("GET", "/customers/{customer_id}:export", C, ADMIN),
    _proxy("POST", "/customers:batchUpsert", C, SYNC),
    _proxy("POST", "/customers:search", C, READ),
    _proxy("POST", "/customers:count", C, READ),
    _proxy("POST", "/orders:batchUpsert", C, SYNC),
    _proxy("GET", "/orders:stats", C, ANALYST),
    _proxy("GET", "/orders/{order_id}", C, READ),
    _proxy("POST", "/products", C, ADMIN),
    _proxy("POST", "/products:batchUpsert", C, ADMIN),
    _proxy("GET", "/products", C, READ),
    _proxy("GET", "/products/{sku}", C, READ),
    _proxy("PATCH", "/products/{sku}", C, ADMIN),
    _proxy("DELETE", "/products/{sku}", C, ADMIN),
    _proxy("POST", "/imports", C, ADMIN),
    _proxy("GET", "/imports", C, ANALYST),
    _proxy("GET", "/imports/{job_id}", C, ANALYST),
    _proxy("GET", "/imports/{job_id}/errors", C, ANALYST),
    _proxy("GET", "/exports/{entity}", C, ANALYST),
    _proxy("GET", "/changes", C, ANALYST),
    _proxy("GET", "/duplicates", C, ANALYST),
    _proxy("POST", "/duplicates:refresh", C, ADMIN),
    _proxy("POST", "/identities:resolve", C, READ),
    # segmentation
    _proxy("POST", "/segmentation/runs", S, ANALYST, "/v1/runs"),
    _proxy("GET", "/segmentation/runs", S, ANALYST, "/v1/runs"),
    _proxy("GET", "/segmentation/runs/{run_id}", S, ANALYST, "/v1/runs/{run_id}"),
    _proxy("POST", "/segmentation/runs/{run_id}:cancel", S, ANALYST, "/v1/runs/{run_id}:cancel"),
    _proxy("GET", "/segmentation/summary", S, ANALYST, "/v1/summary"),
    _proxy("GET", "/customers/{customer_id}/scores", S, READ),
    _proxy("POST", "/scores:lookup", S, READ),
    _proxy("GET", "/segments", S, ANALYST),
    _proxy("POST", "/segments:count", S, ANALYST),
    _proxy("POST", "/segments:top", S, ANALYST),
    _proxy("PUT", "/segments/{key}", S, ANALYST),
    _proxy("DELETE", "/segments/{key}", S, ANALYST),
    _proxy("GET", "/segments/{key}/members", S, ANALYST),
    _proxy("GET", "/clusters", S, ANALYST),
    _proxy("GET", "/tiers", S, ANALYST),
    # recommendation
    _proxy("POST", "/recommendation/runs", R, ANALYST, "/v1/runs"),
    _proxy("POST", "/recommendation/runs/{model_id}:cancel", R, ANALYST, "/v1/runs/{model_id}:cancel"),
    _proxy("GET", "/models", R, ANALYST),
    _proxy("GET", "/models/{model_id}", R, ANALYST),
    _proxy("GET", "/customers/{customer_id}/recommendations", R, READ),
    _proxy("GET", "/items:trending", R, READ),
    _proxy("GET", "/items/{sku}/similar", R, READ),
    _proxy("POST", "/baskets:complete", R, READ),
    _proxy("GET", "/rules", R, ANALYST),
    _proxy("POST", "/events", R, WRITE_FEEDBACK),
    # feedback
    _proxy("POST", "/feedback", F, WRITE_FEEDBACK),
    _proxy("POST", "/feedback:batch", F, WRITE_FEEDBACK),
    _proxy("GET", "/feedback", F, ANALYST),
    _proxy("GET", "/feedback/stats", F, ANALYST, "/v1/stats"),
    _proxy("GET", "/feedback/keywords", F, ANALYST, "/v1/keywords"),
    _proxy("GET", "/feedback/topics", F, ANALYST, "/v1/topics"),
    _proxy("GET", "/feedback/{feedback_id}", F, ANALYST),
    _proxy("GET", "/customers/{customer_id}/feedback/summary", F, READ),
    _proxy("GET", "/alerts", F, ANALYST),
    _proxy("GET", "/alerts/{alert_id}", F, ANALYST),
    _proxy("POST", "/alerts/{alert_id}:acknowledge", F, ANALYST),
    _proxy("POST", "/alerts/{alert_id}:resolve", F, ANALYST),
    _proxy("POST", "/webhooks", F, ADMIN),
    _proxy("GET", "/webhooks", F, ADMIN),
    _proxy("DELETE", "/webhooks/{webhook_id}", F, ADMIN),
    _proxy("GET", "/webhooks/{webhook_id}/deliveries", F, ADMIN),
)


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]


class RouteTable:
    """Lookup over a route table: by request path (proxying) and by declared pattern (own handlers)."""

    def __init__(self, routes: Iterable[Route] = ROUTES) -> None:
        self.routes = tuple(routes)
        self._by_pattern = {(route.method, route.path): route for route in self.routes}
        if len(self._by_pattern) != len(self.routes):
            raise ValueError("a method + path pattern is declared twice in the route table")

    def match(self, method: str, path: str) -> Match | None:
        """The route for `method` on `path`, or None (see `allowed_methods` to tell 404 from 405)."""
        for route in self.routes:
            if route.method == method and (found := route.regex.match(path)):
                return Match(route, found.groupdict())
        return None

    def allowed_methods(self, path: str) -> list[str]:
        return sorted({route.method for route in self.routes if route.regex.match(path)})

    def declared(self, method: str, pattern: str) -> Route | None:
        return self._by_pattern.get((method, pattern))

    def for_role(self, role: Role) -> list[Route]:
        return [route for route in self.routes if route.allows(role)]

    def to_gateway_path(self, service: Service, upstream_path: str) -> str | None:
        """The gateway path of a service path (for Location and Link headers), or None if not exposed."""
        for route in self.routes:
            if (
                route.service is service
                and route.upstream_regex
                and (found := route.upstream_regex.match(upstream_path))
            ):
                return route.path.format(**found.groupdict())
        return None
