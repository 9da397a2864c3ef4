"""Pure parts of the gateway: the route table, the circuit breaker, token buckets, partner checks."""

from __future__ import annotations

import asyncio

import pytest

from gateway import api, partner
from gateway.app import create_app
from gateway.breaker import CircuitBreaker, State
from gateway.keys import Caller
from gateway.models import Role
from gateway.ratelimit import LocalBuckets
from gateway.routes import ROUTES, Route, RouteTable
from rapport.config import RateLimit, Service, Settings
from rapport.errors import Forbidden

pytestmark = pytest.mark.database_independent


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_every_own_route_of_the_app_is_declared_in_the_table() -> None:
    table = RouteTable()
    create_app(Settings(env="test"))  # builds without touching a database or the network
    own = [(method, route.path) for route in api.router.routes for method in getattr(route, "methods", ())]
    assert len(own) == len([route for route in ROUTES if route.service is None])
    assert [pair for pair in own if table.declared(*pair) is None] == []


def test_literal_routes_win_over_parameters_and_actions_parse_like_the_services() -> None:
    table = RouteTable()
    stats = table.match("GET", "/api/v1/feedback/stats")
    assert stats is not None
    assert stats.route.upstream_path(stats.params) == "/v1/stats"
    merge = table.match("POST", "/api/v1/customers/abc:merge")
    assert merge is not None
    assert merge.route.upstream_path(merge.params) == "/v1/customers/abc:merge"
    runs = table.match("POST", "/api/v1/recommendation/runs/xyz:cancel")
    assert runs is not None
    assert (runs.route.service, runs.route.upstream_path(runs.params)) == (
        Service.recommendation,
        "/v1/runs/xyz:cancel",
    )
    assert table.match("GET", "/api/v1/customers/a/b/c") is None
    assert table.match("PUT", "/api/v1/customers") is None
    assert table.allowed_methods("/api/v1/customers") == ["GET", "POST"]


def test_service_paths_map_back_to_gateway_paths() -> None:
    table = RouteTable()
    assert table.to_gateway_path(Service.customers, "/v1/customers/42") == "/api/v1/customers/42"
    assert table.to_gateway_path(Service.segmentation, "/v1/runs/7") == "/api/v1/segmentation/runs/7"
    assert table.to_gateway_path(Service.customers, "/v1/not/exposed") is None


def test_a_route_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        RouteTable([*ROUTES, Route("GET", "/api/v1/session", None)])


def test_every_route_names_known_roles_and_admin_may_call_every_keyed_route() -> None:
    for route in ROUTES:
        assert route.roles is None or Role.admin in route.roles, route


def test_breaker_opens_after_failures_fails_fast_and_half_opens_to_one_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_seconds=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state is State.closed
    breaker.failure()
    assert breaker.state is State.open
    assert not breaker.allow()
    assert breaker.retry_after() == pytest.approx(10)
    clock.now += 10
    assert breaker.allow()  # the probe
    assert breaker.state is State.half_open
    assert not breaker.allow()  # only one probe at a time
    breaker.failure()
    assert breaker.state is State.open
    clock.now += 10
    assert breaker.allow()
    breaker.success()
    assert breaker.state is State.closed
    assert breaker.allow()


def test_a_lost_probe_does_not_keep_the_circuit_shut() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=5, clock=clock)
    breaker.failure()
    clock.now += 5
    assert breaker.allow()  # a probe whose caller never reports back
    clock.now += 5
    assert breaker.allow()


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failures=2, reset_seconds=5, clock=Clock())
    breaker.failure()
    breaker.success()
    breaker.failure()
    assert breaker.state is State.closed


def test_local_bucket_allows_a_burst_then_refuses_then_refills() -> None:
    clock = Clock()
    buckets = LocalBuckets(clock=clock)
    limit = RateLimit(per_second=2, burst=3)
    decisions = [asyncio.run(buckets.check("k", limit)) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after == pytest.approx(0.5)
    assert asyncio.run(buckets.check("other", limit)).allowed  # buckets are per key
    clock.now += 0.5
    assert asyncio.run(buckets.check("k", limit)).allowed
    assert not asyncio.run(buckets.check("k", limit)).allowed
    clock.now += 60
    assert [asyncio.run(buckets.check("k", limit)).allowed for _ in range(4)] == [True, True, True, False]


def test_partner_batches_naming_another_source_are_refused_record_by_record() -> None:
    caller = Caller("id", "acme feed", Role.partner, "acme")
    body = b'{"records": [{"source": "acme", "external_id": "1"}, {"source": "demo", "external_id": "2"}, {"external_id": "3"}]}'
    with pytest.raises(Forbidden) as raised:
        partner.check_records("/api/v1/customers:batchUpsert", body, caller)
    assert [e["loc"] for e in raised.value.errors or []] == ["body.records.1.source", "body.records.2.source"]
    partner.check_records("/api/v1/orders:batchUpsert", b'{"records": [{"source": "acme"}]}', caller)
    partner.check_records("/api/v1/orders:batchUpsert", b'{"broken', caller)  # the service answers its 422
