"""Alembic environment of the recommendation service; run through `rapport migrate`."""

from rapport.migrations import run_env
from services.recommendation.models import Base

run_env(Base.metadata)
