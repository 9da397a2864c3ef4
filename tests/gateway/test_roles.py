"""The whole route table walked with every role: each role x route gets exactly its declared answer."""

from __future__ import annotations

import re

import httpx
import pytest

from gateway.models import Role
from gateway.routes import ROUTES, Route
from tests.gateway.conftest import Platform
from tests.support import assert_problem

# Path parameters that name nothing, so an allowed call reaches the service and changes nothing.
PLACEHOLDERS = {
    "customer_id": "00000000-0000-0000-0000-000000000000",
    "order_id": "0",
    "sku": "NO-SUCH-SKU",
    "entity": "nothing",
    "key": "no-such-segment",
    "key_id": "no-such-key",
}
ZERO_UUID = "00000000-0000-0000-0000-000000000000"


def _url(route: Route) -> str:
    return re.sub(r"\{([a-z_]+)\}", lambda m: PLACEHOLDERS.get(m.group(1), ZERO_UUID), route.path)


def _call(client: httpx.Client, route: Route, headers: dict[str, str]) -> httpx.Response:
    # A JSON array where an object is expected: every allowed write is refused by validation, not performed.
    body = {"content": b"[]", "headers": {**headers, "content-type": "application/json"}}
    if route.method in ("GET", "DELETE"):
        body = {"headers": headers}
    return client.request(route.method, _url(route), **body)  # type: ignore[arg-type]


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_each_role_gets_exactly_the_declared_answer(platform: Platform, client: httpx.Client, route: Route) -> None:
    for role in Role:
        response = _call(client, route, platform.headers(role.value))
        if route.allows(role):
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            body = assert_problem(response, 403)
            assert role.value in str(body["detail"])
    for name, headers in {
        "no key": {},
        "bad key": {"Authorization": "Bearer rpk_not-a-key"},
        "wrong scheme": {"Authorization": f"Basic {platform.secrets['admin']}"},
        "revoked key": platform.headers("revoked"),
    }.items():
        response = _call(client, route, headers)
        if route.roles is None:
            assert response.status_code not in (401, 403), (name, response.text)
        else:
            assert_problem(response, 401)
            assert response.headers["www-authenticate"].startswith("Bearer"), name
