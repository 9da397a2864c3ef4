"""App factory of the segmentation service (run: uvicorn --factory services.segmentation.app:create_app)."""

from __future__ import annotations

from fastapi import FastAPI

from rapport.config import Service, Settings
from rapport.meta import meta_router
from rapport.service import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the segmentation app; settings default to the `RAPPORT_*` environment."""
    return create_service_app(
        Service.segmentation,
        settings or Settings(),
        title="Rapport segmentation",
        description="RFM segments, value tiers, explained clusters, churn risk, lifetime value and rule segments.",
        routers=[meta_router("/v1")],
    )
