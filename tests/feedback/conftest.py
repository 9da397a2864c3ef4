"""Real corpora and sentiment models for the feedback tests, built once per session."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from rapport import datasets
from services.feedback import sentiment, train
from tests.conftest import REPO


@dataclass(frozen=True)
class Holdout:
    """Our pipeline and the baseline, both fitted on the same stratified 80% (seed 42) of a corpus."""

    ours: Pipeline
    baseline: Pipeline
    test_text: list[str]
    test_y: np.ndarray

    def accuracies(self, texts: Sequence[str], labels: Sequence[int]) -> tuple[float, float]:
        """(ours, baseline) accuracy on any labelled texts (1 positive, 0 negative)."""
        y = np.asarray(labels)
        return float(self.ours.score(list(texts), y)), float(self.baseline.score(list(texts), y))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    dest = Path(os.environ.get("RAPPORT_DATA_DIR") or REPO / "var" / "datasets")
    datasets.fetch(dest, names=list(train.CORPORA))
    return dest


def _holdout(data_dir: Path, language: Literal["en", "zh"]) -> Holdout:
    train_text, test_text, train_y, test_y = train.holdout_split(train.load_corpus(data_dir, language))
    ours = train.PIPELINES[language]().fit(train_text, train_y)
    baseline = sentiment.baseline_pipeline(language).fit(train_text, train_y)
    return Holdout(ours, baseline, test_text, test_y)


@pytest.fixture(scope="session")
def english_holdout(data_dir: Path) -> Holdout:
    return _holdout(data_dir, "en")


@pytest.fixture(scope="session")
def chinese_holdout(data_dir: Path) -> Holdout:
    return _holdout(data_dir, "zh")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feedback-models")


@pytest.fixture(scope="session")
def model(model_dir: Path, data_dir: Path) -> sentiment.SentimentModel:
    """The model the service gets: trained on all data by `load_or_train` into an empty folder."""
    return train.load_or_train(model_dir, data_dir)
