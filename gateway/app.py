"""App factory of the gateway service (run: uvicorn --factory gateway.app:create_app)."""

from __future__ import annotations

from fastapi import FastAPI

from rapport.config import Service, Settings
from rapport.meta import meta_router
from rapport.service import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway app; settings default to the `RAPPORT_*` environment."""
    return create_service_app(
        Service.gateway,
        settings or Settings(),
        title="Rapport gateway",
        description="One API for front-end apps, partner systems and ops: routing, API keys, rate limits, customer 360 and the dashboard.",
        routers=[meta_router("/api/v1")],
    )
