"""Alert rules and statistics arithmetic, as pure functions."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from services.feedback import alerts, stats
from services.feedback.analysis import label_from_score

pytestmark = pytest.mark.database_independent
TIER_A = alerts.CustomerValue(known=True, tier="A", segment="champions", churn_risk=0.1)
ORDINARY = alerts.CustomerValue(known=True, tier="C", segment="new", churn_risk=0.2)
AT_RISK = alerts.CustomerValue(known=True, tier="B", segment="cant_lose_them", churn_risk=0.3)


def alert_for(value: alerts.CustomerValue, **scores: float | None) -> alerts.AlertDraft | None:
    fields: dict = {"nps": None, "csat": None, "sentiment": None} | scores
    return alerts.valued_customer_alert(feedback_id="f1", customer_id="c1", value=value, **fields)


def test_a_detractor_of_value_is_an_alert_with_reasons() -> None:
    draft = alert_for(TIER_A, nps=4)
    assert draft is not None
    assert draft.severity == "high"
    assert draft.dedup_key == "feedback:f1"
    assert draft.detail["complaint"] == ["detractor (NPS 4)"]
    assert draft.detail["customer_value"] == ["value tier A"]
    assert alert_for(AT_RISK, sentiment=-0.8) is not None
    assert alert_for(alerts.CustomerValue(known=True, churn_risk=0.7), csat=2) is not None


@pytest.mark.parametrize("scores", [{"nps": 7}, {"csat": 3}, {"sentiment": -0.49}, {"nps": 10, "sentiment": 0.9}])
def test_no_complaint_no_alert(scores: dict) -> None:
    assert alert_for(TIER_A, **scores) is None


def test_an_ordinary_customer_complaining_is_not_an_alert_but_an_unknown_one_is() -> None:
    assert alert_for(ORDINARY, nps=0) is None
    unknown = alert_for(alerts.UNKNOWN_VALUE, nps=0)
    assert unknown is not None
    assert unknown.severity == "medium"
    assert unknown.detail["value_known"] is False
    assert (
        alerts.valued_customer_alert(feedback_id="f", customer_id=None, nps=0, csat=None, sentiment=None, value=TIER_A)
        is None
    )


def test_spike_threshold() -> None:
    assert alerts.is_spike(5, 0.0, minimum=5, factor=3)
    assert not alerts.is_spike(4, 0.0, minimum=5, factor=3)
    assert not alerts.is_spike(8, 3.0, minimum=5, factor=3)
    assert alerts.is_spike(9, 3.0, minimum=5, factor=3)


@pytest.mark.parametrize(
    ("nps", "csat", "label"),
    [
        (6, None, "negative"),
        (7, None, "neutral"),
        (9, 1, "positive"),
        (None, 2, "negative"),
        (None, 3, "neutral"),
        (None, 4, "positive"),
        (None, None, None),
    ],
)
def test_label_of_a_score_without_text(nps: int | None, csat: int | None, label: str | None) -> None:
    assert label_from_score(nps=nps, csat=csat) == label


def daily(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in stats.SUM_COLUMNS:
        frame[column] = frame.get(column, 0.0)
    frame["day"] = pd.to_datetime(frame["day"])
    frame["grp"] = None
    return frame.astype({c: "float64" for c in stats.SUM_COLUMNS})


def test_rates_are_computed_from_sums_not_averaged_averages() -> None:
    # Day 1: 3 promoters, 1 detractor of 4; day 2: 0 promoters, 1 detractor of 1.
    frame = daily(
        [
            {
                "day": "2024-01-01",
                "volume": 4,
                "promoters": 3,
                "detractors": 1,
                "nps_responses": 4,
                "csat_sum": 9,
                "csat_satisfied": 2,
                "csat_responses": 2,
            },
            {"day": "2024-01-02", "volume": 1, "promoters": 0, "detractors": 1, "nps_responses": 1},
        ]
    )
    totals = stats.totals(frame)
    assert totals["nps"] == pytest.approx(100 * (3 - 2) / 5)  # not the mean of 50 and -100
    assert totals["csat"] == 4.5
    assert totals["csat_satisfied"] == 1.0
    assert totals["sentiment"] is None
    assert totals["negative_share"] is None


def test_series_rolls_days_up_to_monday_weeks_and_months() -> None:
    frame = daily(
        [
            {"day": d, "volume": 1, "nps_responses": 1, "promoters": 1}
            for d in ("2024-01-07", "2024-01-08", "2024-02-01")
        ]
    )
    weeks = stats.series(frame, interval="week")
    assert [(row["period"], row["volume"]) for row in weeks] == [
        (date(2024, 1, 1), 1),
        (date(2024, 1, 8), 1),
        (date(2024, 1, 29), 1),
    ]
    months = stats.series(frame, interval="month")
    assert [(row["period"], row["volume"], row["nps"]) for row in months] == [
        (date(2024, 1, 1), 2, 100.0),
        (date(2024, 2, 1), 1, 100.0),
    ]
    assert stats.series(frame.iloc[:0], interval="day") == []
