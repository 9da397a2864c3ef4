"""The customer 360: one document from every service, fetched concurrently, each part with its own
timeout. A part whose service is down, failing or slow is named in `degraded` and the rest is answered."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rapport.config import Service
from rapport.errors import Gone, NotFound, ProblemError

from .upstream import Upstreams


@dataclass(frozen=True)
class Part:
    """One upstream call of the 360. `split` moves fields of its answer into parts of their own (one call
    answers the profile and the recent orders), so the document keeps one entry per part."""

    name: str
    service: Service
    path: str
    query: dict[str, str] = field(default_factory=dict)
    split: dict[str, str] = field(default_factory=dict)  # answer field -> part name

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.split.values())


RECENT_ORDERS, OPEN_ALERTS = "10", "10"
PARTS: tuple[Part, ...] = (
    Part(
        "profile",
        Service.customers,
        "/v1/customers/{id}",
        {"recent_orders": RECENT_ORDERS},
        split={"recent_orders": "orders"},
    ),
    Part("scores", Service.segmentation, "/v1/customers/{id}/scores"),
    Part("recommendations", Service.recommendation, "/v1/customers/{id}/recommendations", {"k": "5"}),
    Part(
        "feedback",
        Service.feedback,
        "/v1/customers/{id}/feedback/summary",
        {"alerts": OPEN_ALERTS},
        split={"alerts": "open_alerts"},
    ),
)


@dataclass
class Outcome:
    part: Part
    status: int | None = None
    body: Any = None
    reason: str | None = None  # set when the part is degraded


async def _fetch(upstreams: Upstreams, part: Part, customer_id: str, seconds: float) -> Outcome:
    query = {key: value.format(id=customer_id) for key, value in part.query.items()}
    try:
        status, body = await asyncio.wait_for(
            upstreams.get_json(part.service, part.path.format(id=customer_id), query=query, timeout_seconds=seconds),
            seconds,
        )
    except TimeoutError:
        return Outcome(part, reason=f"no answer within {seconds:g} s")
    except ProblemError as error:
        return Outcome(part, reason=error.detail)
    if status >= 500:
        detail = body.get("detail") if isinstance(body, dict) else None
        return Outcome(part, status, reason=f"{status}: {detail or 'service error'}")
    return Outcome(part, status, body)


async def _gather(upstreams: Upstreams, parts: tuple[Part, ...], customer_id: str, seconds: float) -> list[Outcome]:
    return list(await asyncio.gather(*(_fetch(upstreams, part, customer_id, seconds) for part in parts)))


def _values(outcome: Outcome) -> dict[str, Any]:
    """The document entries of one call: None when degraded, or when nothing is known (a 404 from a
    service that never saw this customer)."""
    part = outcome.part
    if outcome.reason is not None or outcome.status != 200 or not isinstance(outcome.body, dict):
        return dict.fromkeys(part.names)
    body = dict(outcome.body)
    split = {name: body.pop(field, None) for field, name in part.split.items()}
    return {part.name: body} | split


async def customer_360(upstreams: Upstreams, customer_id: str, *, seconds: float) -> dict[str, Any]:
    """The 360 document of a customer. A merged-away id answers the survivor's view (`merged_from` names
    the id asked for). Raises NotFound or Gone as the customers service answers for the profile."""
    outcomes = await _gather(upstreams, PARTS, customer_id, seconds)
    profile = outcomes[0]
    merged_from = None
    if profile.status == 200 and isinstance(profile.body, dict) and profile.body.get("merged_into"):
        # Rare, so the common case stays one concurrent round: ask every part again for the survivor.
        merged_from, customer_id = customer_id, str(profile.body["merged_into"])
        outcomes = await _gather(upstreams, PARTS, customer_id, seconds)
        profile = outcomes[0]
    if profile.status == 404:
        raise NotFound(f"No customer {customer_id}.")
    if profile.status == 410:
        raise Gone(f"Customer {customer_id} was erased; nothing personal is held about them any more.")
    if profile.status == 422:
        raise NotFound(f"No customer {customer_id}: customer ids are UUIDs.")
    document: dict[str, Any] = {"customer_id": customer_id, "merged_from": merged_from}
    for outcome in outcomes:
        document |= _values(outcome)
    document["degraded"] = [
        {"part": name, "service": o.part.service.value, "reason": o.reason}
        for o in outcomes
        if o.reason
        for name in o.part.names
    ]
    document["generated_at"] = datetime.now(UTC).isoformat()
    return document
