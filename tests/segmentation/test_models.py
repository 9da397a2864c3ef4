"""Explained clusters and churn risk: planted structure is found, rules are faithful, churn beats chance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.segmentation import churn, clustering

pytestmark = pytest.mark.database_independent


def _planted(seed: int, n: int = 3000) -> tuple[pd.DataFrame, np.ndarray]:
    """Three customer groups: recent frequent big spenders, occasional mid spenders, lapsed one-timers."""
    rng = np.random.default_rng(seed)
    group = rng.choice(3, size=n, p=[0.2, 0.3, 0.5])
    recency = np.choose(group, [rng.uniform(1, 30, n), rng.uniform(60, 150, n), rng.uniform(300, 700, n)])
    frequency = np.choose(group, [rng.integers(8, 20, n), rng.integers(3, 6, n), np.ones(n, dtype=int)])
    monetary = np.choose(group, [rng.uniform(800, 3000, n), rng.uniform(150, 400, n), rng.uniform(10, 60, n)])
    frame = pd.DataFrame({"recency_days": recency, "frequency": frequency.astype(float), "monetary": monetary})
    return frame, group


def test_kmeans_finds_planted_groups_and_rules_explain_them() -> None:
    features, group = _planted(0)
    model = clustering.ExplainedKMeans(k_range=(2, 6)).fit(features)
    assert model.k_ == 3
    # Labels are ordered by median spend: 0 is the big spenders (planted group 0).
    assert pd.crosstab(model.labels_, group).max(axis=1).sum() / len(group) > 0.98
    assert model.centers_.loc[0, "monetary"] > model.centers_.loc[2, "monetary"]
    assert model.fidelity_ > 0.95
    best = next(d for d in model.descriptions_ if d.label == 0)
    assert best.rules
    assert best.rule_precision > 0.95
    assert any("monetary >" in rule or "frequency >" in rule or "recency_days <=" in rule for rule in best.rules)


def test_cluster_labels_stay_stable_between_runs() -> None:
    first = clustering.ExplainedKMeans(k=3).fit(_planted(1)[0])
    features, _ = _planted(2)
    second = clustering.ExplainedKMeans(k=3, previous_centers=first.centers_, random_state=7).fit(features)
    for label in range(3):
        ratio = second.centers_.loc[label, "monetary"] / first.centers_.loc[label, "monetary"]
        assert 0.7 < ratio < 1.4, (label, first.centers_, second.centers_)


def test_kmeans_refuses_bad_parameters() -> None:
    features, _ = _planted(3, n=50)
    with pytest.raises(ValueError, match="k must"):
        clustering.ExplainedKMeans(k=1).fit(features)
    with pytest.raises(ValueError, match="NaN"):
        clustering.ExplainedKMeans(k=2).fit(features.assign(monetary=np.nan))


def test_churn_on_cdnow_master_holdout_has_roc_auc_at_least_075(cdnow_master: pd.DataFrame) -> None:
    # Validation window = the classic split: features up to week 39, churn = no purchase in weeks 40-78.
    result = churn.predict_churn(cdnow_master, as_of=pd.Timestamp("1998-06-30", tz="UTC"), horizon_days=273)
    assert result.metrics["roc_auc"] >= 0.75, result.metrics
    assert 0 < float(result.metrics["brier"]) < 0.25
    assert len(result.probability) == cdnow_master["customer_id"].nunique()
    assert result.probability.between(0, 1).all()
    keys = {key for reasons in result.reasons for key in reasons.split(",") if key}
    assert keys
    assert keys <= set(churn.FEATURES)


def test_churn_refuses_a_horizon_without_history(cdnow_sample: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="history"):
        churn.predict_churn(cdnow_sample, as_of=pd.Timestamp("1997-02-01", tz="UTC"), horizon_days=90)
    with pytest.raises(ValueError, match="positive"):
        churn.predict_churn(cdnow_sample, as_of=pd.Timestamp("1998-06-30", tz="UTC"), horizon_days=0)
