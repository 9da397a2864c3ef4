"""The kit's error contract, on a small app built with the kit and served by real uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, Field

from rapport.config import Service
from rapport.errors import Conflict, NotFound, PreconditionFailed
from rapport.routing import KitRoute
from rapport.service import create_service_app
from tests.conftest import settings_for
from tests.support import ThreadedServer, assert_problem


class Thing(BaseModel):
    name: str = Field(min_length=1)
    size: int = Field(ge=0)


def _router() -> APIRouter:
    router = APIRouter(prefix="/v1", route_class=KitRoute)

    @router.post("/things", status_code=201)
    def create_thing(thing: Thing) -> Thing:
        return thing

    @router.get("/things/{name}")
    def get_thing(name: str) -> Thing:
        raise NotFound(f"No thing named {name!r}.")

    @router.put("/things/{name}")
    def replace_thing(name: str, thing: Thing) -> Thing:
        raise PreconditionFailed("The thing changed since you read it; GET it again.", current_version=3)

    @router.delete("/things/{name}")
    def delete_thing(name: str) -> None:
        raise Conflict("The thing is in use.")

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    return router


@pytest.fixture(scope="module")
def kit_app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("kit")
    settings = settings_for(tmp, {Service.customers: f"sqlite:///{tmp}/kit.db"}, max_body_bytes=1000)
    app = create_service_app(Service.customers, settings, title="kit test", description="kit test", routers=[_router()])
    with ThreadedServer(app) as server:
        yield server.url


def test_valid_json_body_is_accepted(kit_app_url: str) -> None:
    response = httpx.post(f"{kit_app_url}/v1/things", json={"name": "a", "size": 1})
    assert response.status_code == 201
    assert response.json() == {"name": "a", "size": 1}


def test_malformed_json_is_422_with_useful_detail(kit_app_url: str) -> None:
    response = httpx.post(
        f"{kit_app_url}/v1/things", content=b'{"name": "a",', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422)
    assert "not valid JSON" in str(body["detail"])
    assert body["errors"]


def test_field_errors_are_listed_with_location(kit_app_url: str) -> None:
    response = httpx.post(f"{kit_app_url}/v1/things", json={"name": "", "size": -1})
    body = assert_problem(response, 422)
    locations = {error["loc"] for error in body["errors"]}  # type: ignore[union-attr]
    assert locations == {"body.name", "body.size"}
    assert body["instance"] == "/v1/things"


def test_wrong_content_type_is_415(kit_app_url: str) -> None:
    response = httpx.post(f"{kit_app_url}/v1/things", content=b"name=a", headers={"content-type": "text/plain"})
    assert_problem(response, 415)
    assert response.headers["accept"] == "application/json"


def test_body_over_limit_is_413_from_content_length(kit_app_url: str) -> None:
    response = httpx.post(f"{kit_app_url}/v1/things", json={"name": "x" * 2000, "size": 1})
    assert_problem(response, 413)


def test_chunked_body_over_limit_is_413(kit_app_url: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'", "size": 1}'

    response = httpx.post(f"{kit_app_url}/v1/things", content=chunks(), headers={"content-type": "application/json"})
    assert_problem(response, 413)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/nowhere", 404),
        ("GET", "/v1/things/x", 404),
        ("PATCH", "/v1/things/x", 405),
        ("DELETE", "/v1/things/x", 409),
        ("GET", "/v1/boom", 500),
    ],
)
def test_errors_are_problem_json(kit_app_url: str, method: str, path: str, status: int) -> None:
    assert_problem(httpx.request(method, f"{kit_app_url}{path}"), status)


def test_precondition_failed_carries_extensions(kit_app_url: str) -> None:
    response = httpx.put(f"{kit_app_url}/v1/things/x", json={"name": "a", "size": 1})
    body = assert_problem(response, 412)
    assert body["current_version"] == 3


def test_request_id_is_generated_and_echoed(kit_app_url: str) -> None:
    generated = httpx.get(f"{kit_app_url}/health").headers["x-request-id"]
    assert len(generated) == 32
    echoed = httpx.get(f"{kit_app_url}/health", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    unsafe = httpx.get(f"{kit_app_url}/health", headers={"X-Request-ID": "bad id\twith tab"})
    assert unsafe.headers["x-request-id"] != "bad id\twith tab"


def test_metrics_count_requests_per_route_template(kit_app_url: str) -> None:
    httpx.get(f"{kit_app_url}/v1/things/abc")
    httpx.get(f"{kit_app_url}/v1/things/def")
    metrics = httpx.get(f"{kit_app_url}/metrics").text
    assert 'http_requests_total{method="GET",route="/v1/things/{name}",status="404"}' in metrics
    line = next(
        row
        for row in metrics.splitlines()
        if row.startswith('http_requests_total{method="GET",route="/v1/things/{name}",status="404"}')
    )
    assert float(line.rsplit(" ", 1)[1]) >= 2
    assert "http_request_duration_seconds_bucket" in metrics
