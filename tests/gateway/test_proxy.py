"""Routing through a gateway: what passes through, what is stripped or set, streaming, partner sync."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from rapport.config import DEV_SERVICE_TOKEN, Service
from tests.gateway.conftest import PARTNER_SOURCE, GatewayFactory, Platform
from tests.gateway.fakes import FakeServer, fake_app
from tests.support import TOKEN_HEADERS, ServiceProcess, assert_problem


@pytest.fixture(scope="module")
def echo(start_gateway: GatewayFactory) -> Iterator[httpx.Client]:
    """A gateway whose customers and segmentation services are the echoing stand-in."""
    with FakeServer(fake_app("echo")) as fake:
        process = start_gateway(RAPPORT_CUSTOMERS_URL=fake.url, RAPPORT_SEGMENTATION_URL=fake.url)
        with httpx.Client(base_url=process.url, timeout=30) as http:
            yield http


def test_query_headers_and_request_id_pass_through_and_internal_headers_are_set_by_the_gateway(
    platform: Platform, echo: httpx.Client
) -> None:
    headers = {
        **platform.headers("admin"),
        "X-Request-ID": "trace-gateway-1",
        "X-Client-Thing": "kept",
        "X-Service-Token": "forged",
        "X-Rapport-Source": "forged",
        "Connection": "keep-alive, X-Hop",
        "X-Hop": "dropped",
    }
    response = echo.get("/api/v1/customers/abc%2Fd", params={"a": "1", "b": "x y"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "trace-gateway-1"
    seen = response.json()
    assert seen["raw_path"] == "/v1/customers/abc%2Fd"
    assert seen["query"] == "a=1&b=x+y"
    sent = seen["headers"]
    assert sent["x-client-thing"] == "kept"
    assert sent["x-service-token"] == DEV_SERVICE_TOKEN
    assert sent["x-request-id"] == "trace-gateway-1"
    assert sent["x-rapport-actor"] == f"key:{platform.key_ids['admin']}"
    assert "authorization" not in sent
    assert "x-rapport-source" not in sent  # only partner keys carry a source, set by the gateway
    assert "x-hop" not in sent


def test_body_status_and_location_come_back_under_gateway_paths(platform: Platform, echo: httpx.Client) -> None:
    response = echo.post("/api/v1/customers", json={"given_name": "Ada"}, headers=platform.headers("admin"))
    assert response.status_code == 201
    assert response.headers["location"] == "/api/v1/customers/abc"
    assert response.json()["body"] == '{"given_name":"Ada"}'
    teapot = echo.get("/api/v1/customers/x/scores", headers=platform.headers("analyst"))
    assert teapot.status_code == 418
    assert teapot.headers["x-custom"] == "kept"
    assert teapot.json() == {"detail": "scores are brewing"}


def test_partner_source_header_is_the_keys_source(platform: Platform, echo: httpx.Client) -> None:
    batch = {"records": [{"source": PARTNER_SOURCE, "external_id": "p1"}]}
    headers = {**platform.headers("partner"), "X-Rapport-Source": "demo"}
    response = echo.post("/api/v1/customers:batchUpsert", json=batch, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["headers"]["x-rapport-source"] == PARTNER_SOURCE


def test_a_streaming_export_is_passed_on_as_it_comes(platform: Platform, echo: httpx.Client) -> None:
    started = time.monotonic()
    with echo.stream("GET", "/api/v1/exports/customers", headers=platform.headers("analyst")) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        lines = response.iter_lines()
        assert next(lines) == '{"row": 1}'
        first = time.monotonic() - started
        assert next(lines) == '{"row": 2}'
        total = time.monotonic() - started
    assert first < 0.8, "the first chunk waited for the whole export"
    assert total >= 1.0


def test_a_real_export_is_the_same_bytes_through_the_gateway(platform: Platform, client: httpx.Client) -> None:
    direct = httpx.get(
        f"{platform.urls[Service.customers]}/v1/exports/customers", params={"format": "csv"}, headers=TOKEN_HEADERS
    )
    proxied = client.get("/api/v1/exports/customers", params={"format": "csv"}, headers=platform.headers("analyst"))
    assert proxied.status_code == 200
    assert proxied.headers["content-type"] == direct.headers["content-type"]
    assert proxied.content == direct.content
    assert proxied.content.count(b"\n") >= 300


def _record(external_id: str, source: str) -> dict[str, object]:
    return {"source": source, "external_id": external_id, "given_name": "Pat", "family_name": "Lee"}


def test_a_partner_syncs_its_own_source_and_cannot_write_another(platform: Platform, client: httpx.Client) -> None:
    headers = platform.headers("partner")
    own = client.post(
        "/api/v1/customers:batchUpsert", json={"records": [_record("A-1", PARTNER_SOURCE)]}, headers=headers
    )
    assert own.status_code == 200, own.text
    assert own.json()["results"][0]["status"] == "created"
    foreign = {"records": [_record("A-2", PARTNER_SOURCE), _record("D-1", "demo")]}
    refused = assert_problem(client.post("/api/v1/customers:batchUpsert", json=foreign, headers=headers), 403)
    assert refused["errors"] == [{"loc": "body.records.1.source", "msg": "must be 'acme', got 'demo'"}]
    orders = {"records": [{"source": "demo", "external_id": "O-X"}]}
    assert_problem(client.post("/api/v1/orders:batchUpsert", json=orders, headers=headers), 403)
    # Nothing of the refused batch was written.
    resolve = client.post(
        "/api/v1/identities:resolve",
        json={
            "identities": [
                {"source": PARTNER_SOURCE, "external_id": "A-1"},
                {"source": PARTNER_SOURCE, "external_id": "A-2"},
            ]
        },
        headers=platform.headers("admin"),
    )
    assert resolve.status_code == 200, resolve.text
    assert [i["customer_id"] is not None for i in resolve.json()["identities"]] == [True, False]
    # The admin may sync any source.
    admin = client.post(
        "/api/v1/customers:batchUpsert", json={"records": [_record("D-9", "demo")]}, headers=platform.headers("admin")
    )
    assert admin.status_code == 200


def test_every_gateway_error_is_problem_json(platform: Platform, client: httpx.Client) -> None:
    assert_problem(client.get("/api/v1/no/such/route", headers=platform.headers("admin")), 404)
    not_allowed = client.put("/api/v1/customers", headers=platform.headers("admin"))
    assert_problem(not_allowed, 405)
    assert not_allowed.headers["allow"] == "GET, POST"
    assert_problem(
        client.get("/api/v1/customers/00000000-0000-0000-0000-000000000000", headers=platform.headers("admin")), 404
    )
    assert_problem(
        client.post(
            "/api/v1/keys",
            content=b'{"oops": ',
            headers={**platform.headers("admin"), "content-type": "application/json"},
        ),
        422,
    )


def test_metrics_carry_upstream_latency_per_service(
    platform: Platform, gateway: ServiceProcess, client: httpx.Client
) -> None:
    client.get("/api/v1/customers", headers=platform.headers("frontend"))
    metrics = httpx.get(f"{gateway.url}/metrics").text
    assert 'gateway_upstream_request_duration_seconds_count{outcome="200",service="customers"}' in metrics
