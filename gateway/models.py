"""SQLAlchemy tables of the gateway service, on its own metadata."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from rapport.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()
