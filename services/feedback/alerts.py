"""Alert rules, as pure functions: which feedback deserves a person's attention now.

1. `valued_customer`: a detractor, a dissatisfied CSAT or a strongly negative text from a customer the
   business cannot afford to lose (value tier A, an at-risk RFM segment or a high churn risk). When the
   segmentation service cannot be asked, the customer's value is unknown and the rule fires on the text
   and score alone, saying so, because a missed complaint costs more than an extra look.
2. `negative_spike`: today's negative mentions of one aspect reach `factor` times the trailing daily mean
   (and at least `minimum`), e.g. a courier failing across a region.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DETRACTOR_MAX_NPS = 6
DISSATISFIED_MAX_CSAT = 2
STRONGLY_NEGATIVE = -0.5  # text sentiment at or below this
HIGH_CHURN_RISK = 0.5
AT_RISK_SEGMENTS = frozenset({"at_risk", "cant_lose_them", "about_to_sleep"})


@dataclass(frozen=True)
class CustomerValue:
    """What segmentation knows about a customer; `known` is False when it could not be asked."""

    known: bool
    tier: str | None = None
    segment: str | None = None
    churn_risk: float | None = None


UNKNOWN_VALUE = CustomerValue(known=False)


@dataclass(frozen=True)
class AlertDraft:
    rule: str
    severity: str
    title: str
    dedup_key: str
    detail: dict[str, Any] = field(default_factory=dict)
    aspect: str | None = None


def complaint_reasons(*, nps: int | None, csat: int | None, sentiment: float | None) -> list[str]:
    """Why a piece of feedback counts as a complaint (empty: it does not)."""
    reasons = []
    if nps is not None and nps <= DETRACTOR_MAX_NPS:
        reasons.append(f"detractor (NPS {nps})")
    if csat is not None and csat <= DISSATISFIED_MAX_CSAT:
        reasons.append(f"dissatisfied (CSAT {csat})")
    if sentiment is not None and sentiment <= STRONGLY_NEGATIVE:
        reasons.append(f"strongly negative text ({sentiment:+.2f})")
    return reasons


def value_reasons(value: CustomerValue) -> list[str]:
    """Why the customer is one to keep (empty: not known to be)."""
    reasons = []
    if value.tier == "A":
        reasons.append("value tier A")
    if value.segment in AT_RISK_SEGMENTS:
        reasons.append(f"RFM segment {value.segment}")
    if value.churn_risk is not None and value.churn_risk >= HIGH_CHURN_RISK:
        reasons.append(f"churn risk {value.churn_risk:.2f}")
    return reasons


def valued_customer_alert(
    *,
    feedback_id: str,
    customer_id: str | None,
    nps: int | None,
    csat: int | None,
    sentiment: float | None,
    value: CustomerValue,
) -> AlertDraft | None:
    """The alert for one piece of feedback, or None."""
    complaint = complaint_reasons(nps=nps, csat=csat, sentiment=sentiment)
    if not complaint or customer_id is None:
        return None
    if value.known:
        valued = value_reasons(value)
        if not valued:
            return None
        severity, who = "high", ", ".join(valued)
    else:
        severity, who = "medium", "customer value unknown (segmentation unavailable)"
    return AlertDraft(
        rule="valued_customer",
        severity=severity,
        title=f"Complaint from customer {customer_id}: {', '.join(complaint)}; {who}",
        dedup_key=f"feedback:{feedback_id}",
        detail={
            "complaint": complaint,
            "customer_value": valued if value.known else None,
            "value_known": value.known,
            "tier": value.tier,
            "segment": value.segment,
            "churn_risk": value.churn_risk,
        },
    )


def is_spike(today: int, trailing_mean: float, *, minimum: int, factor: float) -> bool:
    """Whether today's count is a spike over the trailing daily mean."""
    return today >= max(minimum, factor * trailing_mean)


def spike_alert(aspect: str, day: str, today: int, trailing_mean: float, *, days: int) -> AlertDraft:
    return AlertDraft(
        rule="negative_spike",
        severity="high",
        title=f"Spike of negative feedback on {aspect}: {today} today against {trailing_mean:.1f} a day before",
        dedup_key=f"spike:{aspect}:{day}",
        aspect=aspect,
        detail={"day": day, "today": today, "trailing_daily_mean": round(trailing_mean, 2), "trailing_days": days},
    )
