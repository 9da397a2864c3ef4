"""App factory of the gateway service (run: uvicorn --factory gateway.app:create_app)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from rapport.config import Service, Settings
from rapport.meta import meta_router
from rapport.service import create_service_app

from . import api, keys, proxy
from .auth import Gatekeeper, KeyResolver
from .ratelimit import make_buckets
from .routes import RouteTable
from .upstream import Upstreams

log = logging.getLogger("gateway")
STATIC = Path(__file__).parent / "static"
# The dashboard loads nothing from elsewhere (no CDN) and runs no inline script.
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway app; settings default to the `RAPPORT_*` environment."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.routes = RouteTable()
        app.state.upstreams = Upstreams(settings, app.state.metrics.registry)
        buckets = make_buckets(settings.redis_url)
        app.state.resolver = KeyResolver(app.state.sessions, ttl=settings.gateway_key_cache_seconds)
        app.state.gatekeeper = Gatekeeper(app.state.resolver, buckets, settings)
        await run_in_threadpool(_announce_missing_admin, app)
        try:
            yield
        finally:
            await app.state.upstreams.close()
            await buckets.close()

    app = create_service_app(
        Service.gateway,
        settings,
        title="Rapport gateway",
        description="One API for front-end apps, partner systems and ops: routing, API keys, rate limits, customer 360 and the dashboard.",
        # The catch-all proxy goes last, so the gateway's own routes (and the dashboard's) match first.
        routers=[meta_router("/api/v1"), api.router, proxy.router],
        extra_lifespan=lifespan,
        upload_paths=sorted(proxy.STREAMED_UPLOADS),
    )
    _mount_dashboard(app)
    return app


def _mount_dashboard(app: FastAPI) -> None:
    # Mounted after every API route, and under /static rather than at /, so `/api/...`, `/health`,
    # `/ready`, `/metrics` and `/docs` always win and an unknown path stays a problem+json 404.
    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(
            STATIC / "index.html",
            headers={"Content-Security-Policy": DASHBOARD_CSP, "Cache-Control": "no-cache"},
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def _announce_missing_admin(app: FastAPI) -> None:
    # The secret of a key is shown once, to whoever creates it, and never written to a log: so the
    # gateway does not make one itself, it says how to.
    with app.state.sessions() as session:
        if not keys.has_admin(session):
            log.warning(
                "no admin API key exists yet: create one with `rapport keys create --role admin --name <you>` "
                "(it prints the key once); the dashboard and the admin API sign in with it"
            )
