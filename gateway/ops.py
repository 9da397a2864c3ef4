"""Ops views over every service: aggregated readiness, and one OpenAPI document under gateway paths."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from rapport.config import Service
from rapport.errors import ProblemError

from .routes import RouteTable
from .upstream import Upstreams

SERVICES = (Service.customers, Service.segmentation, Service.recommendation, Service.feedback)
PROBE_TIMEOUT_SECONDS = 2.0
_PARAM = re.compile(r"\{[^}]+\}")
_REF = "#/components/schemas/"


async def _ready(upstreams: Upstreams, service: Service) -> dict[str, Any]:
    started = time.perf_counter()
    circuit = upstreams.breakers[service].state.value
    try:
        status, body = await asyncio.wait_for(
            upstreams.get_json(service, "/ready", timeout_seconds=PROBE_TIMEOUT_SECONDS), PROBE_TIMEOUT_SECONDS
        )
    except TimeoutError:
        return {"status": "unavailable", "detail": f"no answer within {PROBE_TIMEOUT_SECONDS:g} s", "circuit": circuit}
    except ProblemError as error:
        return {"status": "unavailable", "detail": error.detail, "circuit": circuit}
    latency = round((time.perf_counter() - started) * 1000, 1)
    if status != 200:
        detail = body.get("detail") if isinstance(body, dict) else f"status {status}"
        return {"status": "unavailable", "detail": detail, "latency_ms": latency, "circuit": circuit}
    return {"status": "ready", "latency_ms": latency, "circuit": upstreams.breakers[service].state.value}


async def health(upstreams: Upstreams) -> dict[str, Any]:
    """Every service's readiness, asked concurrently; `status` is ok only when all are ready."""
    answers = await asyncio.gather(*(_ready(upstreams, service) for service in SERVICES))
    services = {service.value: answer for service, answer in zip(SERVICES, answers, strict=True)}
    ok = all(answer["status"] == "ready" for answer in services.values())
    return {"status": "ok" if ok else "degraded", "services": services}


def _prefix_refs(node: Any, prefix: str) -> Any:
    """Rename every schema reference so two services' `Page` or `BatchResult` cannot collide."""
    if isinstance(node, dict):
        return {
            key: (
                _REF + prefix + value[len(_REF) :]
                if key == "$ref" and isinstance(value, str) and value.startswith(_REF)
                else _prefix_refs(value, prefix)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_prefix_refs(item, prefix) for item in node]
    return node


def merge_openapi(own: dict[str, Any], specs: dict[Service, dict[str, Any]], table: RouteTable) -> dict[str, Any]:
    """The gateway's own document plus every proxied operation, found in its service's document by the
    route table's upstream path, listed under the gateway path with the roles allowed (`x-roles`)."""
    document = {
        **own,
        "paths": {},
        "components": {
            "schemas": dict(own.get("components", {}).get("schemas", {})),
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "Rapport API key"}},
        },
    }
    prefixed = {service: _prefix_refs(spec, f"{service.value}.") for service, spec in specs.items()}
    for service, spec in prefixed.items():
        for name, schema in spec.get("components", {}).get("schemas", {}).items():
            document["components"]["schemas"][f"{service.value}.{name}"] = schema
    own_paths = own.get("paths", {})
    for route in table.routes:
        method = route.method.lower()
        if route.service is None:
            operation = own_paths.get(route.path, {}).get(method)
        else:
            operation = _find_operation(prefixed.get(route.service, {}), route.upstream_path_pattern or "", method)
        if operation is None:
            continue
        operation = {**operation, "x-roles": sorted(r.value for r in route.roles) if route.roles else ["public"]}
        if route.roles is not None:
            operation["security"] = [{"apiKey": []}]
        if route.service is not None:
            operation["x-service"] = route.service.value
        document["paths"].setdefault(route.path, {})[method] = operation
    document["x-degraded"] = sorted(s.value for s in SERVICES if s not in specs)
    return document


def _find_operation(spec: dict[str, Any], pattern: str, method: str) -> dict[str, Any] | None:
    paths = spec.get("paths", {})
    if pattern in paths:
        return paths[pattern].get(method)
    shape = _PARAM.sub("{}", pattern)  # the service may name a path parameter differently
    for path, operations in paths.items():
        if _PARAM.sub("{}", path) == shape:
            return operations.get(method)
    return None


async def service_specs(upstreams: Upstreams) -> dict[Service, dict[str, Any]]:
    """Each reachable service's OpenAPI document (services that do not answer are left out)."""

    async def one(service: Service) -> dict[str, Any] | None:
        try:
            status, body = await asyncio.wait_for(
                upstreams.get_json(service, "/openapi.json", timeout_seconds=PROBE_TIMEOUT_SECONDS),
                PROBE_TIMEOUT_SECONDS,
            )
        except (TimeoutError, ProblemError):
            return None
        return body if status == 200 and isinstance(body, dict) else None

    answers = await asyncio.gather(*(one(service) for service in SERVICES))
    return {service: spec for service, spec in zip(SERVICES, answers, strict=True) if spec is not None}
