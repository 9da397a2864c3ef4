"""App factory of the recommendation service (run: uvicorn --factory services.recommendation.app:create_app)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from rapport import feeds
from rapport.auth import SERVICE_TOKEN_HEADER
from rapport.config import Service, Settings
from rapport.meta import meta_router
from rapport.service import create_service_app

from . import api, serving, store
from .models import FeedState
from .runner import Trainer

log = logging.getLogger("rapport.recommendation")
REFRESH_SECONDS = 5.0
EVENTS_SECONDS = 1.0


def refresh(holder: serving.ModelHolder, sessions: sessionmaker[Session]) -> None:
    """Load the newest succeeded model if this replica does not serve it yet (another replica trained it)."""
    with holder.loading, sessions() as session:
        latest = store.latest_model_id(session)
        current = holder.current
        if latest is None or (current is not None and current.model_id == latest):
            return
        artifact = store.artifact_of(session, latest)
    if artifact is not None:
        holder.swap(latest, artifact)
        log.info("model loaded", extra={"model_id": str(latest)})


def note_event_customers(holder: serving.ModelHolder, sessions: sessionmaker[Session]) -> None:
    """Learn which customers got events through other replicas since the last look."""
    with sessions() as session:
        customers, last = store.event_customers_after(session, holder.last_event_id)
    holder.customers_with_events.update(customers)
    holder.last_event_id = last


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    holder = serving.ModelHolder()
    app.state.models = holder
    await run_in_threadpool(refresh, holder, app.state.sessions)
    await run_in_threadpool(note_event_customers, holder, app.state.sessions)
    trainer = Trainer(app.state.settings, app.state.sessions, holder)
    app.state.trainer = trainer
    await run_in_threadpool(trainer.worker.start)
    stop = threading.Event()

    def poll() -> None:
        ticks = 0
        while not stop.wait(EVENTS_SECONDS):
            try:
                note_event_customers(holder, app.state.sessions)
                ticks += 1
                if ticks % round(REFRESH_SECONDS / EVENTS_SECONDS) == 0:
                    refresh(holder, app.state.sessions)
            except Exception:
                log.exception("model or events refresh failed")

    poller = threading.Thread(target=poll, name="recommendation-refresh", daemon=True)
    poller.start()

    def forget(session: Session, customer_ids: list[str]) -> None:
        store.forget_customers(session, customer_ids)
        holder.forget(customer_ids)

    settings: Settings = app.state.settings
    app.state.segmentation_http = httpx.AsyncClient(
        base_url=settings.url_for(Service.segmentation),
        headers={SERVICE_TOKEN_HEADER: settings.service_token.get_secret_value()},
        timeout=api.SEGMENT_TIMEOUT_SECONDS,
    )
    follower = feeds.ErasureFollower(
        "recommendation",
        settings.url_for(Service.customers),
        settings.service_token.get_secret_value(),
        app.state.sessions,
        FeedState,
        forget,
    )
    follower.start()
    try:
        yield
    finally:
        stop.set()
        follower.stop()
        await app.state.segmentation_http.aclose()
        await run_in_threadpool(trainer.worker.stop)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the recommendation app; settings default to the `RAPPORT_*` environment."""
    return create_service_app(
        Service.recommendation,
        settings or Settings(),
        title="Rapport recommendation",
        description="Personalised recommendations, similar items, association rules and offline evaluation.",
        routers=[meta_router("/v1"), api.router],
        extra_lifespan=_lifespan,
    )
