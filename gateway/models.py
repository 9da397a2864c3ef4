"""SQLAlchemy tables of the gateway service, on its own metadata: API keys, stored hashed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rapport.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class Role(StrEnum):
    """What a key may do; the route table (`gateway.routes`) names the roles of every route."""

    frontend = "frontend"
    partner = "partner"
    analyst = "analyst"
    admin = "admin"


class ApiKey(Base):
    """One API key. Only the sha256 of the secret is kept: a leaked table grants nothing, and the
    secret is shown once, when the key is created. `prefix` (the secret's first characters) lets a
    person recognise a key in a list without revealing it."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    # A partner key is bound to one source system: it may only write that source's records.
    source: Mapped[str | None] = mapped_column(String(64), default=None)
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
