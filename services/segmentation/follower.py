"""Follows the customers service's change feed to forget erased customers.

A run keeps a profile snapshot (city, birth date, gender, ...) next to each customer's scores, so when
the customers service erases a person, this service must drop them too: every `erased` event deletes
that customer's rows from every stored run. The cursor is saved in the same transaction as the deletes,
so a crash replays at most a page (deleting twice is harmless). If the customers service is down the
follower waits and tries again; runs and reads are unaffected.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from rapport.auth import SERVICE_TOKEN_HEADER
from rapport.db import transaction

from . import store
from .models import CustomerScore, FeedState

log = logging.getLogger("rapport.segmentation.feed")
FEED = "customers"
PAGE = 500


class ErasureFollower:
    def __init__(
        self, base_url: str, token: str, sessions: sessionmaker[Session], *, idle_seconds: float = 2.0
    ) -> None:
        self.base_url, self.token, self.sessions, self.idle_seconds = base_url, token, sessions, idle_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="segmentation-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        with httpx.Client(base_url=self.base_url, headers={SERVICE_TOKEN_HEADER: self.token}, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    full = self.poll_once(client)
                except (httpx.HTTPError, ValueError) as error:
                    log.debug("change feed unavailable", extra={"error": str(error)[:200]})
                    full = False
                except Exception:
                    log.exception("change feed follower error")
                    full = False
                if not full:
                    self._stop.wait(self.idle_seconds)

    def poll_once(self, client: httpx.Client) -> bool:
        """Act on one page of events; returns whether the page was full (more may be waiting)."""
        with self.sessions() as session:
            state = session.get(FeedState, FEED)
            cursor = state.cursor if state is not None else "0"
        answer = client.get("/v1/changes", params={"after": cursor, "limit": PAGE})
        answer.raise_for_status()
        page: dict[str, Any] = answer.json()
        erased = [e["entity_id"] for e in page["items"] if e["entity"] == "customer" and e["kind"] == "erased"]
        with transaction(self.sessions) as session:
            if erased:
                session.execute(delete(CustomerScore).where(CustomerScore.customer_id.in_(erased)))
                log.info("erased customers forgotten", extra={"count": len(erased)})
            state = session.get(FeedState, FEED)
            if state is None:
                session.add(FeedState(feed=FEED, cursor=page["next_cursor"], updated_at=store.now()))
            else:
                state.cursor, state.updated_at = page["next_cursor"], store.now()
        return len(page["items"]) == PAGE
