"""App factory of the segmentation service (run: uvicorn --factory services.segmentation.app:create_app)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from rapport import feeds
from rapport.config import Service, Settings
from rapport.http import RetryPolicy, ServiceClient
from rapport.meta import meta_router
from rapport.service import create_service_app

from . import api
from . import follower as erasure
from .models import FeedState
from .runner import Segmenter


@asynccontextmanager
async def _run_worker(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    worker = Segmenter(settings, app.state.sessions).worker
    follower = feeds.ErasureFollower(
        "segmentation",
        settings.url_for(Service.customers),
        settings.service_token.get_secret_value(),
        app.state.sessions,
        FeedState,
        erasure.forget,
    )
    # One pooled client for the scores route's "is this customer known?" question (a client per request
    # paid its connection setup every time).
    app.state.customers = ServiceClient(
        settings.url_for(Service.customers),
        token=settings.service_token.get_secret_value(),
        timeout=3.0,
        retry=RetryPolicy(retries=0),
    )
    await run_in_threadpool(worker.start)
    follower.start()
    app.state.runs = worker
    try:
        yield
    finally:
        follower.stop()
        await run_in_threadpool(worker.stop)
        app.state.customers.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the segmentation app; settings default to the `RAPPORT_*` environment."""
    return create_service_app(
        Service.segmentation,
        settings or Settings(),
        title="Rapport segmentation",
        description="RFM segments, value tiers, explained clusters, churn risk, lifetime value and rule segments.",
        routers=[meta_router("/v1"), api.router],
        extra_lifespan=_run_worker,
    )
