"""Routes of the feedback service: alerts (list, acknowledge, resolve) and the webhooks they are delivered to."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from rapport.auth import ServiceAuth
from rapport.db import as_utc
from rapport.deps import SessionDep
from rapport.errors import Conflict
from rapport.pagination import Limit, Page
from rapport.routing import KitRoute

from . import store, webhooks
from .models import Alert, Webhook
from .schemas import AlertRead, AlertStatus, AlertUpdate, DeliveryRead, WebhookCreate, WebhookRead

router = APIRouter(prefix="/v1", route_class=KitRoute, dependencies=[ServiceAuth], tags=["alerts"])


def alert_read(alert: Alert) -> AlertRead:
    read = AlertRead.model_validate(alert)
    times = {
        name: as_utc(value)
        for name in ("created_at", "acknowledged_at", "resolved_at")
        if (value := getattr(alert, name))
    }
    return read.model_copy(update=times)


@router.get("/alerts", response_model=Page[AlertRead])
def list_alerts(
    session: SessionDep,
    limit: Limit = 50,
    cursor: str | None = None,
    alert_status: Annotated[AlertStatus | None, Query(alias="status")] = None,
    customer_id: str | None = None,
) -> Page[AlertRead]:
    """Alerts newest first; `?status=open` is the inbox."""
    alerts, next_cursor = store.list_alerts(
        session,
        limit=limit,
        cursor=cursor,
        status=alert_status.value if alert_status else None,
        customer_id=customer_id,
    )
    return Page(items=[alert_read(alert) for alert in alerts], next_cursor=next_cursor)


@router.get("/alerts/{alert_id}", response_model=AlertRead)
def get_alert(alert_id: uuid.UUID, session: SessionDep) -> AlertRead:
    return alert_read(store.get_alert_or_raise(session, alert_id))


@router.post("/alerts/{alert_id}:acknowledge", response_model=AlertRead)
def acknowledge_alert(alert_id: uuid.UUID, session: SessionDep, body: AlertUpdate | None = None) -> AlertRead:
    """Someone is on it. Acknowledging again changes nothing; a resolved alert cannot go back (409)."""
    alert = store.get_alert_or_raise(session, alert_id)
    if alert.status == AlertStatus.resolved:
        raise Conflict(f"Alert {alert_id} is resolved already.")
    if alert.status == AlertStatus.open:
        alert.status, alert.acknowledged_at = AlertStatus.acknowledged.value, store.now()
    if body is not None and body.note is not None:
        alert.note = body.note
    return alert_read(alert)


@router.post("/alerts/{alert_id}:resolve", response_model=AlertRead)
def resolve_alert(alert_id: uuid.UUID, session: SessionDep, body: AlertUpdate | None = None) -> AlertRead:
    """Done (from open or acknowledged); resolving again changes nothing."""
    alert = store.get_alert_or_raise(session, alert_id)
    if alert.status != AlertStatus.resolved:
        moment = store.now()
        alert.status, alert.resolved_at = AlertStatus.resolved.value, moment
        alert.acknowledged_at = alert.acknowledged_at or moment
    if body is not None and body.note is not None:
        alert.note = body.note
    return alert_read(alert)


def webhook_read(webhook: Webhook, *, with_secret: bool = False) -> WebhookRead:
    return WebhookRead(
        id=webhook.id,
        url=webhook.url,
        description=webhook.description,
        active=webhook.active,
        created_at=as_utc(webhook.created_at),
        secret=webhook.secret if with_secret else None,
    )


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, response_model=WebhookRead)
def create_webhook(body: WebhookCreate, session: SessionDep) -> WebhookRead:
    """Deliver every new alert to `url`, signed with the secret (shown in this answer only)."""
    webhook = webhooks.create_webhook(session, url=str(body.url), secret=body.secret, description=body.description)
    return webhook_read(webhook, with_secret=True)


@router.get("/webhooks", response_model=list[WebhookRead])
def list_webhooks(session: SessionDep) -> list[WebhookRead]:
    return [webhook_read(webhook) for webhook in webhooks.list_webhooks(session)]


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: uuid.UUID, session: SessionDep) -> Response:
    webhooks.deactivate(session, webhooks.get_webhook_or_raise(session, webhook_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryRead])
def list_deliveries(webhook_id: uuid.UUID, session: SessionDep, limit: Limit = 50) -> list[DeliveryRead]:
    webhooks.get_webhook_or_raise(session, webhook_id)
    return [DeliveryRead.model_validate(d) for d in webhooks.list_deliveries(session, webhook_id, limit=limit)]
