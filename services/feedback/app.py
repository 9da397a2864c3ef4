"""App factory of the feedback service (run: uvicorn --factory services.feedback.app:create_app)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from rapport import feeds
from rapport.config import Service, Settings
from rapport.meta import meta_router
from rapport.service import create_service_app

from . import api, api_alerts, store, train
from .analysis import Analyzer
from .delivery import Deliverer
from .identities import IdentityResolver
from .models import FeedState
from .values import ValueLookup


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    token = settings.service_token.get_secret_value()
    model = await run_in_threadpool(train.load_or_train, settings.feedback_models_dir, settings.datasets_dir)
    app.state.analyzer = Analyzer(model)
    app.state.values = ValueLookup(settings.url_for(Service.segmentation), token)
    app.state.resolver = IdentityResolver(settings.url_for(Service.customers), token)
    deliverer = Deliverer(
        app.state.sessions, max_attempts=settings.webhook_max_attempts, backoff_seconds=settings.webhook_backoff_seconds
    )
    app.state.deliverer = deliverer
    deliverer.start()

    def forget(session: Session, customer_ids: list[str]) -> None:
        store.forget_customers(session, customer_ids)

    follower = feeds.ErasureFollower(
        "feedback", settings.url_for(Service.customers), token, app.state.sessions, FeedState, forget
    )
    follower.start()
    try:
        yield
    finally:
        follower.stop()
        await run_in_threadpool(deliverer.stop)
        app.state.values.close()
        app.state.resolver.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the feedback app; settings default to the `RAPPORT_*` environment."""
    return create_service_app(
        Service.feedback,
        settings or Settings(),
        title="Rapport feedback",
        description="Surveys, tickets, reviews and social comments in English and Chinese: sentiment, topics, trends and alerts.",
        routers=[meta_router("/v1"), api_alerts.router, api.router],
        extra_lifespan=_lifespan,
    )
