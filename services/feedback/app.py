"""App factory of the feedback service (run: uvicorn --factory services.feedback.app:create_app)."""

from __future__ import annotations

from fastapi import FastAPI

from rapport.config import Service, Settings
from rapport.meta import meta_router
from rapport.service import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the feedback app; settings default to the `RAPPORT_*` environment."""
    return create_service_app(
        Service.feedback,
        settings or Settings(),
        title="Rapport feedback",
        description="Surveys, tickets, reviews and social comments in English and Chinese: sentiment, topics, trends and alerts.",
        routers=[meta_router("/v1")],
    )
