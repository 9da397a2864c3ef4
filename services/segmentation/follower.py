"""What segmentation forgets when the customers service erases a person: their scores and profile
snapshot in every stored run (followed by `rapport.feeds.ErasureFollower`)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from .models import CustomerScore


def forget(session: Session, customer_ids: list[str]) -> None:
    session.execute(delete(CustomerScore).where(CustomerScore.customer_id.in_(customer_ids)))
