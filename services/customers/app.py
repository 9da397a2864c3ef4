"""App factory of the customers service (run: uvicorn --factory services.customers.app:create_app)."""

from __future__ import annotations

from fastapi import FastAPI

from rapport.config import Service, Settings
from rapport.meta import meta_router
from rapport.service import create_service_app

from . import api, api_exports, api_identity, api_imports, housekeeping


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the customers app; settings default to the `RAPPORT_*` environment."""
    return create_service_app(
        Service.customers,
        settings or Settings(),
        title="Rapport customers",
        description="Unified customer profiles, identities, products, orders and interactions; bulk sync, cleaning, dedup and merge, queries and exports.",
        routers=[meta_router("/v1"), api_identity.router, api_imports.router, api_exports.router, api.router],
        upload_paths=["/v1/imports"],
        extra_lifespan=housekeeping.lifespan,
    )
