"""Rate limits: 429 with Retry-After then recovery; one bucket shared by two gateways through Redis."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from gateway.models import Role
from tests.gateway.conftest import GatewayFactory, Platform
from tests.support import assert_problem

REDIS_URL = "redis://127.0.0.1:6379/15"


def _limits(per_second: float, burst: int) -> str:
    return json.dumps({role.value: {"per_second": per_second, "burst": burst} for role in Role})


def test_a_key_over_its_limit_gets_429_then_recovers(platform: Platform, start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(RAPPORT_GATEWAY_RATE_LIMITS=_limits(per_second=4, burst=3))
    _, secret = platform.add_key(Role.frontend, name="limited")
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=gateway.url, headers=headers) as client:
        assert [client.get("/api/v1/session").status_code for _ in range(3)] == [200, 200, 200]
        refused = client.get("/api/v1/session")
        body = assert_problem(refused, 429)
        assert refused.headers["retry-after"] == "1"
        assert "frontend" in str(body["detail"])
        time.sleep(0.3)  # 4 tokens a second: one is back after 0.25 s
        assert client.get("/api/v1/session").status_code == 200
        # Another key of the same role has its own bucket.
        other = platform.secrets["frontend"]
        assert client.get("/api/v1/session", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379")
def test_two_gateways_share_one_bucket_through_redis(platform: Platform, start_gateway: GatewayFactory) -> None:
    limits = _limits(per_second=0.5, burst=4)
    first = start_gateway(RAPPORT_REDIS_URL=REDIS_URL, RAPPORT_GATEWAY_RATE_LIMITS=limits)
    second = start_gateway(RAPPORT_REDIS_URL=REDIS_URL, RAPPORT_GATEWAY_RATE_LIMITS=limits)
    _, secret = platform.add_key(Role.analyst, name="shared bucket")
    headers = {"Authorization": f"Bearer {secret}"}
    statuses = [
        httpx.get(f"{gateway.url}/api/v1/session", headers=headers).status_code
        for gateway in (first, second, first, second, first, second)
    ]
    # Four tokens in all, whichever replica is asked; alone, each replica would have allowed six.
    assert statuses == [200, 200, 200, 200, 429, 429]
    refused = httpx.get(f"{second.url}/api/v1/session", headers=headers)
    assert_problem(refused, 429)
    assert 1 <= int(refused.headers["retry-after"]) <= 2
    time.sleep(2.1)
    assert httpx.get(f"{first.url}/api/v1/session", headers=headers).status_code == 200
    assert httpx.get(f"{second.url}/api/v1/session", headers=headers).status_code == 429
