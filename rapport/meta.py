"""`GET /v1/meta`: which service, code version and database revision answers (internal)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from rapport import __version__, migrations
from rapport.auth import ServiceAuth
from rapport.routing import KitRoute


class Meta(BaseModel):
    service: str
    version: str
    database_backend: str
    schema_revision: str | None
    schema_head: str | None
    schema_current: bool


def meta_router(prefix: str = "/v1") -> APIRouter:
    router = APIRouter(prefix=prefix, route_class=KitRoute, dependencies=[ServiceAuth], tags=["ops"])

    @router.get("/meta", response_model=Meta, summary="Service, version and schema revision")
    async def meta(request: Request) -> Meta:
        service = request.app.state.service
        engine = request.app.state.engine

        def read_revision() -> str | None:
            with engine.connect() as connection:
                return migrations.current_revision_on(connection, service)

        revision = await run_in_threadpool(read_revision)
        head = migrations.head_revision(service)
        return Meta(
            service=service.value,
            version=__version__,
            database_backend=engine.dialect.name,
            schema_revision=revision,
            schema_head=head,
            schema_current=revision == head,
        )

    return router
