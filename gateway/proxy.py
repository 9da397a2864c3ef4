"""The catch-all `/api/v1/...` handler: match the route table, admit the caller, forward to the
owning service and pass its answer back (streamed when the service streams)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from rapport.config import Service
from rapport.errors import NotFound, ProblemError
from rapport.routing import KitRoute

from . import partner
from .auth import Gatekeeper
from .keys import Caller
from .models import Role
from .routes import PREFIX, RouteTable
from .upstream import Upstreams

PARTNER_SOURCE_HEADER = "X-Rapport-Source"
ACTOR_HEADER = "X-Rapport-Actor"
# Hop-by-hop headers (RFC 9110 7.6.1) and what only the gateway may set: the client's key stays here,
# and the internal headers the services trust are set from the key, never taken from the client.
_DROP_REQUEST = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
        "transfer-encoding", "upgrade", "host", "content-length", "authorization", "x-service-token",
        "x-rapport-source", "x-rapport-actor", "x-request-id",
    }
)  # fmt: skip
_DROP_RESPONSE = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
        "transfer-encoding", "upgrade", "content-length", "x-request-id", "date", "server",
    }
)  # fmt: skip
_SERVICE_LINK = re.compile(r"/v1/[^>;,\s\"]*")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Import uploads may be gigabytes: their bodies stream through instead of being read first.
STREAMED_UPLOADS = frozenset({f"{PREFIX}/imports"})

router = APIRouter(route_class=KitRoute)


def _connection_tokens(request: Request) -> set[str]:
    return {token.strip().lower() for token in request.headers.get("connection", "").split(",") if token.strip()}


def request_headers(request: Request, caller: Caller | None) -> list[tuple[str, str]]:
    drop = _DROP_REQUEST | _connection_tokens(request)
    headers = [(name, value) for name, value in request.headers.items() if name not in drop]
    if caller is not None:
        headers.append((ACTOR_HEADER, f"key:{caller.key_id}"))
        if caller.role is Role.partner and caller.source:
            headers.append((PARTNER_SOURCE_HEADER, caller.source))
    return headers


def response_headers(table: RouteTable, service: Service, upstream: aiohttp.ClientResponse) -> dict[str, str]:
    def to_gateway(found: re.Match[str]) -> str:
        return table.to_gateway_path(service, found.group(0)) or found.group(0)

    headers: dict[str, str] = {}
    for name, value in upstream.headers.items():
        lower = name.lower()
        if lower in _DROP_RESPONSE:
            continue
        if lower in ("location", "link", "content-location"):
            value = _SERVICE_LINK.sub(to_gateway, value)
        # Repeated headers (Set-Cookie, Link) are joined; the services send none that forbid it.
        headers[lower] = f"{headers[lower]}, {value}" if lower in headers else value
    return headers


async def _stream(upstream: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    async for chunk in upstream.content.iter_any():
        yield chunk


@router.api_route(PREFIX + "/{path:path}", methods=METHODS, include_in_schema=False)
async def forward(request: Request) -> Response:
    table: RouteTable = request.app.state.routes
    path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1").split("?", 1)[0]
    match = table.match(request.method, path)
    if match is None:
        allowed = table.allowed_methods(path)
        if allowed:
            raise MethodNotAllowed(f"{request.method} is not allowed on {path}.", headers={"Allow": ", ".join(allowed)})
        raise NotFound(f"No gateway route {path}; GET {PREFIX}/openapi.json lists them.")
    route = match.route
    gatekeeper: Gatekeeper = request.app.state.gatekeeper
    caller = await gatekeeper.admit(route, request.headers.get("authorization"))
    request.state.caller = caller
    if route.service is None:  # an own route reached with a method the gateway handles elsewhere
        raise NotFound(f"No gateway route {path}.")
    body: bytes | AsyncIterator[bytes] | None
    if path in STREAMED_UPLOADS:
        body = request.stream()
    else:
        body = await request.body() or None
        if caller is not None and caller.role is Role.partner:
            partner.check_records(path, body, caller)
    upstreams: Upstreams = request.app.state.upstreams
    upstream = await upstreams.send(
        route.service,
        request.method,
        route.upstream_path(match.params),
        query=request.scope.get("query_string", b"").decode("latin-1"),
        headers=request_headers(request, caller),
        body=body,
    )
    headers = response_headers(table, route.service, upstream)
    if upstream.headers.get("content-length") is None and request.method != "HEAD":
        # A streamed answer (exports) goes out chunk by chunk as it comes, never held whole in memory.
        return StreamingResponse(
            _stream(upstream), status_code=upstream.status, headers=headers, background=BackgroundTask(upstream.release)
        )
    try:
        content = await upstream.read()
    finally:
        upstream.release()
    return Response(content, status_code=upstream.status, headers=headers)


class MethodNotAllowed(ProblemError):
    status, slug = 405, "method-not-allowed"
