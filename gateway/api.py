"""The gateway's own routes: API keys, the caller's session, the customer 360, health and OpenAPI.
Every route here is declared with its roles in `gateway.routes.ROUTES`."""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from rapport.routing import KitRoute

from . import customer360, keys, ops
from .auth import CallerDep, Gatekeeper, KeyResolver, PublicDep
from .routes import PREFIX, RouteTable
from .schemas import KeyCreate, KeyCreated, KeyList, KeyRead, RouteRead, SessionRead

router = APIRouter(prefix=PREFIX, route_class=KitRoute, tags=["gateway"])
OPENAPI_CACHE_SECONDS = 30.0


@router.get("/session", response_model=SessionRead, summary="Who the caller's key is and what it may call")
async def get_session(request: Request, caller: CallerDep) -> SessionRead:
    table: RouteTable = request.app.state.routes
    gatekeeper: Gatekeeper = request.app.state.gatekeeper
    return SessionRead(
        key_id=caller.key_id,
        name=caller.name,
        role=caller.role,
        source=caller.source,
        rate_limit=gatekeeper.limit_for(caller).model_dump(),
        routes=[RouteRead(method=r.method, path=r.path) for r in table.for_role(caller.role)],
    )


@router.get("/keys", response_model=KeyList, summary="Every API key (without secrets)")
async def list_keys(request: Request, caller: CallerDep) -> KeyList:
    def read() -> list[KeyRead]:
        with request.app.state.sessions() as session:
            return [KeyRead.model_validate(key) for key in keys.list_keys(session)]

    return KeyList(items=await run_in_threadpool(read))


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=KeyCreated, summary="Create an API key")
async def create_key(body: KeyCreate, request: Request, caller: CallerDep) -> KeyCreated:
    def create() -> KeyCreated:
        with request.app.state.sessions() as session, session.begin():
            key, secret = keys.create(session, name=body.name, role=body.role, source=body.source)
            return KeyCreated(**KeyRead.model_validate(key).model_dump(), key=secret)

    return await run_in_threadpool(create)


@router.post("/keys/{key_id}:revoke", response_model=KeyRead, summary="Revoke an API key (at once on this replica)")
async def revoke_key(key_id: str, request: Request, caller: CallerDep) -> KeyRead:
    def revoke() -> KeyRead:
        with request.app.state.sessions() as session, session.begin():
            return KeyRead.model_validate(keys.revoke(session, key_id=key_id))

    revoked = await run_in_threadpool(revoke)
    resolver: KeyResolver = request.app.state.resolver
    resolver.forget(key_id)
    return revoked


@router.get("/customers/{customer_id}/360", summary="Everything about one customer, from every service")
async def get_customer_360(customer_id: str, request: Request, caller: CallerDep) -> Response:
    settings = request.app.state.settings
    document = await customer360.customer_360(
        request.app.state.upstreams, customer_id, seconds=settings.gateway_part_timeout_seconds
    )
    return Response(orjson.dumps(document), media_type="application/json")


@router.get("/health", summary="Readiness of every service behind the gateway")
async def get_health(request: Request, caller: PublicDep) -> dict[str, Any]:
    return await ops.health(request.app.state.upstreams)


@router.get("/openapi.json", summary="One OpenAPI document for every route of the gateway")
async def get_openapi(request: Request, caller: PublicDep) -> Response:
    state = request.app.state
    cached: tuple[float, dict[str, Any]] | None = getattr(state, "merged_openapi", None)
    if cached is None or cached[0] < time.monotonic():
        specs = await ops.service_specs(state.upstreams)
        document = ops.merge_openapi(request.app.openapi(), specs, state.routes)
        # A document missing a service that was down is not kept: the next call asks again.
        ttl = OPENAPI_CACHE_SECONDS if not document["x-degraded"] else 0.0
        cached = (time.monotonic() + ttl, document)
        state.merged_openapi = cached
    return Response(orjson.dumps(cached[1]), media_type="application/json")
