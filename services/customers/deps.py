"""Checked dependencies of the customers routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Path, Request, Response
from sqlalchemy.orm import Session

from rapport.deps import SessionDep
from rapport.errors import Conflict, Gone, PreconditionFailed, PreconditionRequired

from . import merge, store
from .models import Customer

PARTNER_SOURCE_HEADER = "X-Rapport-Source"
ACTOR_HEADER = "X-Rapport-Actor"
PROFILE_ROUTE = "/v1/customers/{customer_id}"


async def partner_source(
    x_rapport_source: Annotated[str | None, Header(alias=PARTNER_SOURCE_HEADER)] = None,
) -> str | None:
    """The source a partner call is bound to; the gateway sets it for partner keys (trusted, internal)."""
    return x_rapport_source.strip() if x_rapport_source else None


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(if_match: str | None, *, current_version: int) -> None:
    """Raise 428 without If-Match, 412 when it names another version than the stored one."""
    if if_match is None:
        raise PreconditionRequired("Send If-Match with the ETag from your last GET, so concurrent edits are not lost.")
    candidates = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" not in candidates and etag(current_version) not in candidates:
        raise PreconditionFailed(
            f"The record changed since you read it (now at ETag {etag(current_version)}); GET it again and retry.",
            current_etag=etag(current_version),
        )


async def actor(x_rapport_actor: Annotated[str | None, Header(alias=ACTOR_HEADER)] = None) -> str | None:
    """Who asked for an audited action (the gateway sets it from the API key; trusted, internal)."""
    return (x_rapport_actor.strip()[:128] or None) if x_rapport_actor else None


def _not_erased(customer: Customer) -> Customer:
    if customer.erased_at is not None:
        raise Gone(f"Customer {customer.id} was erased; nothing personal is held about them any more.")
    return customer


def current_customer(session: SessionDep, response: Response, customer_id: Annotated[uuid.UUID, Path()]) -> Customer:
    """The live customer the path id names: a merged-away id is followed to its survivor (and a
    `Link: rel=canonical` header names it). 404 for an unknown id, 410 for an erased person."""
    customer = _not_erased(store.get_customer_or_raise(session, customer_id))
    if customer.merged_into is None:
        return customer
    survivor = _not_erased(merge.survivor_of(session, customer))
    response.headers["Link"] = f'</v1/customers/{survivor.id}>; rel="canonical"'
    return survivor


def profile_customer(session: Session, customer_id: uuid.UUID) -> Customer:
    """The customer whose profile is read: its own row even when merged away (it names `merged_into`);
    404 unknown, 410 erased."""
    return _not_erased(store.get_customer_or_raise(session, customer_id))


def existing_customer(
    request: Request, session: SessionDep, response: Response, customer_id: Annotated[uuid.UUID, Path()]
) -> Customer:
    """The customer the path id names; 404 unknown, 410 erased. For a merged-away id: reading its profile
    answers its own row (with `merged_into`); a write is 409 naming the survivor (an ETag read from the
    old row cannot match the survivor's); every other read - orders, interactions - follows to the
    survivor like `current_customer`. So no route answers a silent 404 or an empty list."""
    route = request.scope.get("route")
    if request.method == "GET" and getattr(route, "path", None) == PROFILE_ROUTE:
        return profile_customer(session, customer_id)
    if request.method not in ("GET", "HEAD"):
        customer = profile_customer(session, customer_id)
        if customer.merged_into is not None:
            survivor = merge.survivor_of(session, customer).id
            raise Conflict(
                f"Customer {customer_id} was merged into {survivor}; send this change to /v1/customers/{survivor}.",
                merged_into=str(survivor),
                headers={"Link": f'</v1/customers/{survivor}>; rel="canonical"'},
            )
        return customer
    return current_customer(session, response, customer_id)


PartnerSource = Annotated[str | None, Depends(partner_source)]
ExistingCustomer = Annotated[Customer, Depends(existing_customer)]
CurrentCustomer = Annotated[Customer, Depends(current_customer)]
Actor = Annotated[str | None, Depends(actor)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
