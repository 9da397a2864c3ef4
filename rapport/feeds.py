"""Following the customers service's change feed from another service: forget erased customers.

Services that keep anything about a customer (segmentation's per-run profile snapshot, recommendation's
events) must drop it when the customers service erases that person. A `ErasureFollower` thread polls
`GET /v1/changes` from a cursor it stores in the service's own `feed_state` table, hands the ids of
`erased` customers to the service's `forget(session, ids)` and saves the cursor in the same transaction,
so a crash replays at most a page (forgetting twice is harmless). When the customers service is down it
waits and tries again; when its retention pruned events this follower never saw (410 Gone), it logs the
gap and continues from the pruned point, since nothing else can recover events that no longer exist.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from rapport.auth import SERVICE_TOKEN_HEADER
from rapport.db import transaction

log = logging.getLogger("rapport.feeds")
FEED = "customers"
PAGE = 500


class ErasureFollower:
    def __init__(
        self,
        name: str,
        base_url: str,
        token: str,
        sessions: sessionmaker[Session],
        state_model: Any,  # a table with feed (primary key), cursor, updated_at
        forget: Callable[[Session, list[str]], None],
        *,
        idle_seconds: float = 2.0,
    ) -> None:
        self.base_url, self.token, self.sessions = base_url, token, sessions
        self.state_model, self.forget, self.idle_seconds = state_model, forget, idle_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"{name}-feed", daemon=True)

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
            state = session.get(self.state_model, FEED)
            cursor = state.cursor if state is not None else "0"
        answer = client.get("/v1/changes", params={"after": cursor, "limit": PAGE})
        if answer.status_code == 410:
            pruned = str(answer.json().get("pruned_through", cursor))
            log.warning(
                "change feed events were pruned before this service saw them", extra={"from": cursor, "to": pruned}
            )
            self._save(pruned, [])
            return True
        answer.raise_for_status()
        page: dict[str, Any] = answer.json()
        erased = [e["entity_id"] for e in page["items"] if e["entity"] == "customer" and e["kind"] == "erased"]
        self._save(page["next_cursor"], erased)
        return len(page["items"]) == PAGE

    def _save(self, cursor: str, erased: list[str]) -> None:
        with transaction(self.sessions) as session:
            if erased:
                self.forget(session, erased)
                log.info("erased customers forgotten", extra={"count": len(erased)})
            state = session.get(self.state_model, FEED)
            stamp = datetime.now(UTC)
            if state is None:
                session.add(self.state_model(feed=FEED, cursor=cursor, updated_at=stamp))
            else:
                state.cursor, state.updated_at = cursor, stamp
