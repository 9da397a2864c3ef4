"""Alembic environment of the feedback service; run through `rapport migrate`."""

from rapport.migrations import run_env
from services.feedback.models import Base

run_env(Base.metadata)
