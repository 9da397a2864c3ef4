"""The change feed's reading side and its retention.

Events older than `RAPPORT_CHANGES_RETENTION_DAYS` are pruned by the housekeeper; the highest pruned seq
is remembered, so a follower whose cursor is behind it gets 410 Gone (it missed events and must resync
from the exports) instead of silently skipping them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from rapport.errors import Gone

from . import store
from .models import Change, ChangeRetention


def pruned_through(session: Session) -> int:
    """The highest seq retention has deleted (0 when nothing was pruned)."""
    return int(session.scalar(select(ChangeRetention.pruned_through).where(ChangeRetention.id == 1)) or 0)


def list_changes(session: Session, *, after: int, limit: int) -> list[Change]:
    """Events after `after` in seq order; raises Gone (410) when events after it were pruned."""
    pruned = pruned_through(session)
    if after < pruned:
        raise Gone(
            f"Events up to seq {pruned} were pruned (RAPPORT_CHANGES_RETENTION_DAYS); this cursor ({after}) missed "
            f"some. Resync from GET /v1/exports/customers, then follow from after={pruned}.",
            pruned_through=pruned,
        )
    return store.list_changes(session, after=after, limit=limit)


def prune(session: Session, *, older_than: datetime) -> int:
    """Delete events that occurred before `older_than`; returns how many. Keeps the newest event whatever
    its age, so the feed's position (and the next cursor) is never lost."""
    newest = session.scalar(select(func.max(Change.seq)))
    if newest is None:
        return 0
    through = session.scalar(select(func.max(Change.seq)).where(Change.occurred_at < older_than, Change.seq < newest))
    if through is None:
        return 0
    deleted = session.execute(delete(Change).where(Change.seq <= through)).rowcount  # type: ignore[attr-defined]
    state = session.get(ChangeRetention, 1)
    if state is None:
        session.add(ChangeRetention(id=1, pruned_through=through, pruned_at=store.now()))
    else:
        state.pruned_through, state.pruned_at = max(state.pruned_through, through), store.now()
    return int(deleted)
