"""Alembic environment of the customers service; run through `rapport migrate`."""

from rapport.migrations import run_env
from services.customers.models import Base

run_env(Base.metadata)
