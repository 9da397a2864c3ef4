"""API keys: generated, hashed and looked up. Functions take the session keyword-only and never commit."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from rapport.errors import Invalid, NotFound

from .models import ApiKey, Role

# A recognisable prefix makes leaked keys easy to find with secret scanners; 32 random bytes make the
# key unguessable, so a plain (unsalted) sha256 is enough to store it.
KEY_PREFIX = "rpk_"


def now() -> datetime:
    return datetime.now(UTC)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's identity without its secret (safe to cache and to log)."""

    key_id: str
    name: str
    role: Role
    source: str | None


def caller_of(key: ApiKey) -> Caller:
    return Caller(key.id, key.name, Role(key.role), key.source)


def create(session: Session, *, name: str, role: Role, source: str | None = None) -> tuple[ApiKey, str]:
    """Store a new key; returns it with its secret, which is not stored and cannot be shown again.

    Raises Invalid when a partner key has no source or another role has one."""
    if role is Role.partner and not source:
        raise Invalid("A partner key is bound to one source system: give its source.", errors=[_loc("source")])
    if role is not Role.partner and source:
        raise Invalid("Only partner keys are bound to a source; leave source empty.", errors=[_loc("source")])
    secret = new_secret()
    key = ApiKey(
        id=uuid.uuid4().hex,
        name=name,
        role=role.value,
        source=source,
        prefix=secret[: len(KEY_PREFIX) + 6],
        secret_hash=hash_secret(secret),
        created_at=now(),
    )
    session.add(key)
    session.flush()
    return key, secret


def _loc(field: str) -> dict[str, str]:
    return {"loc": f"body.{field}", "msg": "invalid for this role"}


def list_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(query))


def get_or_raise(session: Session, key_id: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key {key_id}; GET /api/v1/keys lists them.")
    return key


def revoke(session: Session, *, key_id: str) -> ApiKey:
    """Revoke a key (idempotent: a revoked key keeps its first revocation time). Raises NotFound."""
    key = get_or_raise(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = now()
    return key


def active_by_hash(digest: str) -> Select[ApiKey]:
    """The query of the live key whose secret hashes to `digest` (none for an unknown or revoked one)."""
    return select(ApiKey).where(ApiKey.secret_hash == digest, ApiKey.revoked_at.is_(None))


def has_admin(session: Session) -> bool:
    query = select(ApiKey.id).where(ApiKey.role == Role.admin.value, ApiKey.revoked_at.is_(None)).limit(1)
    return session.scalar(query) is not None
