"""Routes of the customers service: identity - duplicates, merge, privacy export and erasure.

This router is included before the main one: `/v1/customers/{customer_id}` there would otherwise also
match `/v1/customers/{id}:export` and `:merge` (a path parameter matches any text without a slash).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from rapport.auth import ServiceAuth
from rapport.deps import SessionDep, SettingsDep
from rapport.pagination import Limit
from rapport.routing import KitRoute

from . import merge, privacy, store
from .deps import Actor, CurrentCustomer, etag
from .duplicates import candidates, listing, lookup, rules
from .schemas import (
    CustomerDuplicates,
    CustomerRead,
    DuplicatePage,
    DuplicateRefreshRead,
    IdentityResolveIn,
    IdentityResolveRead,
    MergeIn,
    ResolvedIdentity,
)

router = APIRouter(prefix="/v1", route_class=KitRoute, dependencies=[ServiceAuth], tags=["identity"])

MinScore = Annotated[
    float, Query(ge=0, le=1, description="only candidates scoring at least this (0-1); 0 lists every one")
]


@router.get("/duplicates", response_model=DuplicatePage)
def list_duplicates(
    session: SessionDep,
    limit: Limit = 50,
    cursor: str | None = None,
    min_score: MinScore = rules.DEFAULT_MIN_SCORE,
) -> DuplicatePage:
    """Stored candidate pairs, brought up to date with the customers changed since (see docs/api.md)."""
    return listing.list_pairs(session, limit=limit, cursor=cursor, min_score=min_score)


@router.post("/duplicates:refresh", response_model=DuplicateRefreshRead)
def refresh_duplicates(session: SessionDep) -> DuplicateRefreshRead:
    """Recompute every stored candidate pair from the whole base (after a bulk import)."""
    return candidates.refresh_all(session)


@router.post("/identities:resolve", response_model=IdentityResolveRead)
def resolve_identities(body: IdentityResolveIn, session: SessionDep) -> IdentityResolveRead:
    """Customer ids of (source, external id) pairs, in the order asked; other services link their records so."""
    owners = store.identity_owners(session, [(ref.source, ref.external_id) for ref in body.identities])
    return IdentityResolveRead(
        identities=[
            ResolvedIdentity(
                source=ref.source, external_id=ref.external_id, customer_id=owners.get((ref.source, ref.external_id))
            )
            for ref in body.identities
        ]
    )


@router.get("/customers/{customer_id}/duplicates", response_model=CustomerDuplicates)
def list_customer_duplicates(
    customer: CurrentCustomer,
    session: SessionDep,
    settings: SettingsDep,
    min_score: MinScore = rules.DEFAULT_MIN_SCORE,
) -> CustomerDuplicates:
    return lookup.for_customer(session, customer, currency=settings.base_currency, min_score=min_score)


@router.post("/customers/{customer_id}:merge", response_model=CustomerRead)
def merge_customers(
    customer_id: uuid.UUID,
    body: MergeIn,
    session: SessionDep,
    settings: SettingsDep,
    actor: Actor,
    response: Response,
) -> CustomerRead:
    survivor = merge.merge(session, customer_id, body.from_, actor=actor)
    response.headers["ETag"] = etag(survivor.version)
    return store.to_read(session, [survivor], currency=settings.base_currency)[0]


@router.get("/customers/{customer_id}:export", response_class=StreamingResponse)
def export_customer(customer: CurrentCustomer, request: Request, settings: SettingsDep) -> StreamingResponse:
    """Everything held about the person, as one JSON document streamed in chunks."""
    chunks = privacy.export_chunks(request.app.state.sessions, customer.id, currency=settings.base_currency)
    return StreamingResponse(
        chunks,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="customer-{customer.id}.json"',
            "Link": f'</v1/customers/{customer.id}>; rel="canonical"',
        },
    )


@router.delete("/customers/{customer_id}", status_code=status.HTTP_204_NO_CONTENT)
def erase_customer(customer_id: uuid.UUID, session: SessionDep, actor: Actor) -> Response:
    """Erase the person; 204 again for an already erased one (idempotent)."""
    privacy.erase(session, store.get_customer_or_raise(session, customer_id), actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
