"""Alembic environment of the segmentation service; run through `rapport migrate`."""

from rapport.migrations import run_env
from services.segmentation.models import Base

run_env(Base.metadata)
