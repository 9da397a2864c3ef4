"""The contract every service keeps, checked on all five as real uvicorn processes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from rapport.config import Service
from tests.support import TOKEN_HEADERS, ServiceProcess, assert_problem

SERVICES = list(Service)
BODY_METHODS = ("post", "put", "patch")


def _api_prefix(service: Service) -> str:
    return "/api/v1" if service is Service.gateway else "/v1"


def _json_body_routes(url: str) -> Iterator[tuple[str, str]]:
    """(method, path) of every route whose request body is JSON, from the service's OpenAPI."""
    spec = httpx.get(f"{url}/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if method in BODY_METHODS and "application/json" in content:
                yield method.upper(), path.replace("{", "").replace("}", "")


@pytest.mark.parametrize("service", SERVICES)
def test_probes_and_docs_answer(running_services: dict[Service, ServiceProcess], service: Service) -> None:
    url = running_services[service].url
    assert httpx.get(f"{url}/health").json()["service"] == service.value
    assert httpx.get(f"{url}/ready").status_code == 200
    assert "http_requests_total" in httpx.get(f"{url}/metrics").text
    assert httpx.get(f"{url}/docs").status_code == 200
    assert httpx.get(f"{url}/openapi.json").json()["info"]["title"].lower().endswith(service.value)


@pytest.mark.parametrize("service", SERVICES)
def test_unknown_route_is_404_problem(running_services: dict[Service, ServiceProcess], service: Service) -> None:
    assert_problem(httpx.get(f"{running_services[service].url}/no/such/route"), 404)


@pytest.mark.parametrize("service", SERVICES)
def test_internal_routes_need_the_service_token(
    running_services: dict[Service, ServiceProcess], service: Service
) -> None:
    meta = f"{running_services[service].url}{_api_prefix(service)}/meta"
    assert_problem(httpx.get(meta), 401)
    assert_problem(httpx.get(meta, headers={"X-Service-Token": "wrong"}), 401)
    answer = httpx.get(meta, headers=TOKEN_HEADERS)
    assert answer.status_code == 200
    assert answer.json()["schema_current"] is True


@pytest.mark.parametrize("service", SERVICES)
def test_oversized_body_is_413(running_services: dict[Service, ServiceProcess], service: Service) -> None:
    url = f"{running_services[service].url}{_api_prefix(service)}/anything"
    body = b"[" + b"1," * (6 * 1024 * 1024) + b"1]"  # 12 MiB, over the 10 MiB default
    assert_problem(httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30), 413)


@pytest.mark.parametrize("service", SERVICES)
def test_every_json_route_rejects_malformed_json_and_wrong_media_type(
    running_services: dict[Service, ServiceProcess], service: Service
) -> None:
    url = running_services[service].url
    for method, path in _json_body_routes(url):
        headers = {**TOKEN_HEADERS, "content-type": "application/json"}
        broken = httpx.request(method, f"{url}{path}", content=b'{"oops": ', headers=headers)
        assert "not valid JSON" in str(assert_problem(broken, 422)["detail"])
        csv = httpx.request(
            method, f"{url}{path}", content=b"a,b\n1,2\n", headers={**TOKEN_HEADERS, "content-type": "text/csv"}
        )
        assert_problem(csv, 415)


@pytest.mark.parametrize("service", SERVICES)
def test_request_id_is_echoed_and_logged_as_json(
    running_services: dict[Service, ServiceProcess], service: Service
) -> None:
    request_id = f"trace-{service.value}"
    response = httpx.get(f"{running_services[service].url}/ready", headers={"X-Request-ID": request_id})
    assert response.headers["x-request-id"] == request_id
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in running_services[service].log().splitlines() if line.startswith("{")]
        access = [line for line in lines if line.get("request_id") == request_id]
        if access:
            assert access[0]["service"] == service.value
            assert access[0]["route"] == "/ready"
            assert access[0]["status"] == 200
            return
        time.sleep(0.1)
    pytest.fail("no JSON log line carried the request id")
