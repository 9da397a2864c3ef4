"""Checked dependencies of the customers routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Path

from rapport.deps import SessionDep
from rapport.errors import PreconditionFailed, PreconditionRequired

from . import store
from .models import Customer

PARTNER_SOURCE_HEADER = "X-Rapport-Source"


def partner_source(
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


def existing_customer(session: SessionDep, customer_id: Annotated[uuid.UUID, Path()]) -> Customer:
    return store.get_customer_or_raise(session, customer_id)


PartnerSource = Annotated[str | None, Depends(partner_source)]
ExistingCustomer = Annotated[Customer, Depends(existing_customer)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
