"""Alembic environment of the gateway service; run through `rapport migrate`."""

from gateway.models import Base
from rapport.migrations import run_env

run_env(Base.metadata)
