"""BG/NBD and Gamma-Gamma against the published CDNOW results and a naive baseline on a hold-out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.segmentation import clv

pytestmark = pytest.mark.database_independent

CALIBRATION_END = pd.Timestamp("1997-09-30", tz="UTC")  # end of week 39
HOLDOUT_END = pd.Timestamp("1998-06-30", tz="UTC")  # end of week 78


def test_bgnbd_reproduces_the_published_cdnow_sample_parameters(cdnow_sample: pd.DataFrame) -> None:
    # Fader, Hardie and Lee (2005), CDNOW sample, 39-week calibration: r, alpha, a, b.
    summary = clv.summarise(cdnow_sample, as_of=CALIBRATION_END)
    assert len(summary) == 2357
    model = clv.BetaGeo().fit(summary["frequency"], summary["recency"], summary["age"])
    fitted = {name: round(value, 2) for name, value in model.params_.items()}
    assert fitted == {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}
    assert model.params_ == pytest.approx({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, abs=0.0015)


def test_gamma_gamma_reproduces_the_published_cdnow_sample_parameters(cdnow_sample: pd.DataFrame) -> None:
    # Fader and Hardie (2013), the 946 sample customers with repeat purchases in the calibration period.
    summary = clv.summarise(cdnow_sample, as_of=CALIBRATION_END)
    assert int((summary["frequency"] > 0).sum()) == 946
    model = clv.GammaGamma().fit(summary["frequency"], summary["monetary"])
    assert model.params_ == pytest.approx({"p": 6.25, "q": 3.74, "v": 15.44}, abs=0.005)


def test_bgnbd_beats_the_naive_rate_on_the_cdnow_master_holdout(cdnow_master: pd.DataFrame) -> None:
    summary = clv.summarise(cdnow_master, as_of=CALIBRATION_END)
    model = clv.BetaGeo().fit(summary["frequency"], summary["recency"], summary["age"])
    weeks = (HOLDOUT_END - CALIBRATION_END).days / 7
    holdout = cdnow_master[(cdnow_master["placed_at"] > CALIBRATION_END) & (cdnow_master["placed_at"] <= HOLDOUT_END)]
    actual = holdout.groupby("customer_id")["placed_at"].nunique().reindex(summary.index, fill_value=0)
    predicted = model.expected_purchases(weeks, summary["frequency"], summary["recency"], summary["age"])
    naive = (summary["frequency"] / summary["age"].where(summary["age"] > 0)).fillna(0) * weeks
    model_mae, naive_mae = np.abs(predicted - actual).mean(), np.abs(naive - actual).mean()
    assert model_mae < 0.9 * naive_mae, (model_mae, naive_mae)
    alive = model.probability_alive(summary["frequency"], summary["recency"], summary["age"])
    assert ((alive > 0) & (alive <= 1)).all()


def test_expected_spend_shrinks_towards_the_population_mean() -> None:
    model = clv.GammaGamma()
    model.p_, model.q_, model.v_ = 6.25, 3.74, 15.44
    population = 6.25 * 15.44 / (3.74 - 1)
    few, many = model.expected_spend([1, 50], [100.0, 100.0])
    assert population < few < many < 100.0
    assert model.expected_spend([0], [0.0])[0] == pytest.approx(population)


def test_fits_refuse_inconsistent_or_empty_input() -> None:
    with pytest.raises(ValueError, match="recency"):
        clv.BetaGeo().fit([1], [5.0], [2.0])
    with pytest.raises(ValueError, match="at least one"):
        clv.BetaGeo().fit([], [], [])
    with pytest.raises(ValueError, match="repeat purchases"):
        clv.GammaGamma().fit([0, 0], [0.0, 0.0])
