"""Idempotency-Key support: the first answer to a keyed request is stored in the same transaction as
its writes, and a retry with the same key and body replays it instead of writing again."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import orjson
from sqlalchemy import delete
from sqlalchemy.orm import Session

from rapport.errors import Conflict, Invalid

from . import store
from .models import IdempotentResponse

MAX_KEY_LENGTH = 200


def request_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Invalid(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters.",
            errors=[{"loc": "header.Idempotency-Key", "msg": "invalid length"}],
        )
    return key


def find_replay(session: Session, *, key: str, route: str, body_hash: str) -> tuple[int, bytes] | None:
    """The stored (status, body) for this key and route; Conflict if the key came with another body."""
    stored = session.get(IdempotentResponse, (key, route))
    if stored is None:
        return None
    if stored.request_hash != body_hash:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body; use a new key for a new request."
        )
    return stored.status_code, stored.body.encode()


def save(session: Session, *, key: str, route: str, body_hash: str, status_code: int, body: object) -> bytes:
    """Store the answer (in the caller's transaction) and return it serialised."""
    payload = orjson.dumps(body)
    session.add(
        IdempotentResponse(
            key=key,
            route=route,
            request_hash=body_hash,
            status_code=status_code,
            body=payload.decode(),
            created_at=store.now(),
        )
    )
    return payload


def purge_expired(session: Session, *, ttl: timedelta) -> int:
    """Forget answers older than `ttl`; returns how many were removed."""
    result = session.execute(delete(IdempotentResponse).where(IdempotentResponse.created_at < store.now() - ttl))
    return int(result.rowcount)  # type: ignore[attr-defined]
