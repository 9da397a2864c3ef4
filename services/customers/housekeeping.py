"""Housekeeping of the customers service: a thread that prunes the change feed and expired idempotency
answers once an hour (and once at start)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from rapport.config import Settings
from rapport.db import transaction

from . import feed, idempotency, store

log = logging.getLogger("rapport.customers.housekeeping")
INTERVAL_SECONDS = 3600.0


def sweep(sessions: sessionmaker[Session], settings: Settings) -> dict[str, int]:
    """One pass; returns what was removed."""
    removed = {"changes": 0, "idempotent_answers": 0}
    with transaction(sessions) as session:
        if settings.changes_retention_days > 0:
            cutoff = store.now() - timedelta(days=settings.changes_retention_days)
            removed["changes"] = feed.prune(session, older_than=cutoff)
        removed["idempotent_answers"] = idempotency.purge_expired(
            session, ttl=timedelta(hours=settings.idempotency_ttl_hours)
        )
    return removed


class Housekeeper:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions, self.settings = sessions, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="customers-housekeeping", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                removed = sweep(self.sessions, self.settings)
                if any(removed.values()):
                    log.info("housekeeping", extra=removed)
            except Exception:  # a busy or restarting database: try again next time
                log.exception("housekeeping failed")
            self._stop.wait(INTERVAL_SECONDS)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    keeper = Housekeeper(app.state.sessions, app.state.settings)
    keeper.start()
    try:
        yield
    finally:
        keeper.stop()
