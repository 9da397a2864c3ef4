"""App factory of the recommendation service (run: uvicorn --factory services.recommendation.app:create_app)."""

from __future__ import annotations

from fastapi import FastAPI

from rapport.config import Service, Settings
from rapport.meta import meta_router
from rapport.service import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the recommendation app; settings default to the `RAPPORT_*` environment."""
    return create_service_app(
        Service.recommendation,
        settings or Settings(),
        title="Rapport recommendation",
        description="Personalised recommendations, similar items, association rules and offline evaluation.",
        routers=[meta_router("/v1")],
    )
