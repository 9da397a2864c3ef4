"""The webhook deliverer: a thread that posts due deliveries, woken at once when a write raises an alert.

At-least-once: a delivery is marked delivered only after a 2xx answer; a failure is retried with
exponential backoff until `max_attempts`, then marked failed. A delivered one is never sent again.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy.orm import Session, sessionmaker

from rapport.db import as_utc, transaction

from . import store, webhooks
from .models import Alert, Delivery, Webhook

log = logging.getLogger("rapport.feedback.delivery")
LEASE = timedelta(seconds=30)


def alert_document(alert: Alert) -> dict[str, Any]:
    return {
        "id": str(alert.id),
        "rule": alert.rule,
        "status": alert.status,
        "severity": alert.severity,
        "title": alert.title,
        "detail": alert.detail,
        "customer_id": alert.customer_id,
        "feedback_id": str(alert.feedback_id) if alert.feedback_id else None,
        "aspect": alert.aspect,
        "created_at": as_utc(alert.created_at).isoformat(),
    }


class Deliverer:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        max_attempts: int,
        backoff_seconds: float,
        timeout: float = 5.0,
        idle_seconds: float = 1.0,
    ) -> None:
        self.sessions, self.max_attempts, self.backoff_seconds = sessions, max_attempts, backoff_seconds
        self.idle_seconds = idle_seconds
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="feedback-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        """A write committed new alerts: deliver now rather than at the next idle tick."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        self._client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("webhook delivery round failed")
                busy = False
            if not busy:
                self._wake.wait(self.idle_seconds)
                self._wake.clear()

    def run_once(self, *, limit: int = 50) -> bool:
        """Attempt the due deliveries; returns whether there were any."""
        with transaction(self.sessions) as session:
            claimed = webhooks.claim_due(session, now=store.now(), lease=LEASE, limit=limit)
            work = [
                (
                    delivery.id,
                    delivery.attempts,
                    session.get(Webhook, delivery.webhook_id),
                    session.get(Alert, delivery.alert_id),
                )
                for delivery in claimed
            ]
            jobs = [
                (
                    delivery_id,
                    attempts,
                    hook.url,
                    hook.secret,
                    orjson.dumps({"type": "alert.created", "alert": alert_document(alert)}),
                    str(alert.id),
                )
                for delivery_id, attempts, hook, alert in work
                if hook is not None and alert is not None
            ]
        for delivery_id, attempts, url, secret, body, alert_id in jobs:
            status, error = self._post(url, secret, body, delivery_id=delivery_id, alert_id=alert_id)
            self._record(delivery_id, attempts + 1, status, error)
        return bool(jobs)

    def _post(
        self, url: str, secret: str, body: bytes, *, delivery_id: int, alert_id: str
    ) -> tuple[int | None, str | None]:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "rapport-feedback-webhooks",
            "X-Rapport-Event": "alert.created",
            "X-Rapport-Delivery": str(delivery_id),
            "X-Rapport-Alert-Id": alert_id,
            webhooks.TIMESTAMP_HEADER: timestamp,
            webhooks.SIGNATURE_HEADER: webhooks.sign(secret, timestamp, body),
        }
        try:
            answer = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}"[:500]
        if 200 <= answer.status_code < 300:
            return answer.status_code, None
        return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:200]}"

    def _record(self, delivery_id: int, attempts: int, status: int | None, error: str | None) -> None:
        with transaction(self.sessions) as session:
            delivery = session.get(Delivery, delivery_id)
            if delivery is None or delivery.status != "pending":
                return
            delivery.attempts, delivery.last_status, delivery.last_error = attempts, status, error
            if error is None:
                delivery.status, delivery.delivered_at = "delivered", store.now()
            elif attempts >= self.max_attempts:
                delivery.status = "failed"
                log.warning("webhook delivery %s failed for good after %s attempts: %s", delivery_id, attempts, error)
            else:
                delivery.next_attempt_at = store.now() + webhooks.backoff(attempts, base_seconds=self.backoff_seconds)
