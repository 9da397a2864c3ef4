"""Webhooks: registration queries and the signature every delivery carries.

A receiver checks a delivery with the webhook's secret:
`X-Rapport-Signature: sha256=<hex>` where hex = HMAC-SHA256(secret, f"{X-Rapport-Timestamp}.{body}"),
and refuses timestamps older than a few minutes (replay). `X-Rapport-Delivery` stays the same across the
retries of one delivery, and `X-Rapport-Alert-Id` names the alert, so a receiver can drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rapport.errors import NotFound

from . import store
from .models import Delivery, Webhook

SIGNATURE_HEADER = "X-Rapport-Signature"
TIMESTAMP_HEADER = "X-Rapport-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value of `body` sent at `timestamp` (Unix seconds as text)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def create_webhook(session: Session, *, url: str, secret: str | None, description: str | None) -> Webhook:
    webhook = Webhook(
        id=uuid.uuid4(),
        url=url,
        secret=secret or secrets.token_urlsafe(32),
        description=description,
        active=True,
        created_at=store.now(),
    )
    session.add(webhook)
    session.flush()
    return webhook


def list_webhooks(session: Session) -> list[Webhook]:
    return list(session.scalars(select(Webhook).where(Webhook.active.is_(True)).order_by(Webhook.created_at)))


def get_webhook_or_raise(session: Session, webhook_id: uuid.UUID) -> Webhook:
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or not webhook.active:
        raise NotFound(f"No webhook {webhook_id}.")
    return webhook


def deactivate(session: Session, webhook: Webhook) -> None:
    """Stop delivering to the webhook; its pending deliveries are dropped, its history kept."""
    webhook.active = False
    session.execute(
        update(Delivery).where(Delivery.webhook_id == webhook.id, Delivery.status == "pending").values(status="dropped")
    )


def list_deliveries(session: Session, webhook_id: uuid.UUID, *, limit: int) -> list[Delivery]:
    query = select(Delivery).where(Delivery.webhook_id == webhook_id).order_by(Delivery.id.desc()).limit(limit)
    return list(session.scalars(query))


def claim_due(session: Session, *, now: datetime, lease: timedelta, limit: int) -> list[Delivery]:
    """Take due deliveries for one attempt: their due time moves to the end of a lease, so another replica
    (or this one after a crash) retries only once the lease has run out. Rows are locked while claimed,
    skipping rows another replica holds (PostgreSQL; SQLite serialises writers anyway)."""
    query = (
        select(Delivery)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(session.scalars(query))
    for delivery in claimed:
        delivery.next_attempt_at = now + lease
    return claimed


def backoff(attempts: int, *, base_seconds: float, cap_seconds: float = 3600.0) -> timedelta:
    """Delay before the next attempt after `attempts` failed ones: base, 2 x base, 4 x base, ..."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1)))
