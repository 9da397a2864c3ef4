"""Train the sentiment models on the real corpora, report hold-out accuracy, store the artifact.

    python -m services.feedback.train --data-dir var/datasets --out var/models/feedback

Each language is evaluated on a stratified 80/20 split (seed 42) against the plain TF-IDF + logistic
regression baseline, then refit on all its data for the stored model. The service calls
`load_or_train` at start: it loads the stored artifact when its version, scikit-learn version and
SHA-256 match, and otherwise trains (fetching the corpora if needed) and stores one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from rapport import datasets

from . import sentiment

ARTIFACT = "sentiment.joblib"
MANIFEST = "sentiment.json"
CORPORA = ("chinese_sentiment", "rotten_tomatoes")
TEST_SIZE = 0.2
SEED = 42

LanguageCode = Literal["en", "zh"]
PIPELINES: dict[LanguageCode, Callable[[], Pipeline]] = {
    "en": sentiment.english_pipeline,
    "zh": sentiment.chinese_pipeline,
}

log = logging.getLogger("rapport.feedback.train")


@dataclass(frozen=True)
class Evaluation:
    """Hold-out figures of one language: our accuracy, the baseline's, and the neutral band's share."""

    language: str
    train_size: int
    test_size: int
    accuracy: float
    baseline_accuracy: float
    neutral_share: float
    neutral_accuracy: float
    seconds: float


def load_corpus(data_dir: Path, language: LanguageCode) -> pd.DataFrame:
    """The labelled corpus of a language (columns text, label 1/0); raises DatasetMissing."""
    if language == "zh":
        return datasets.load_chinese_sentiment(data_dir)
    return datasets.load_rotten_tomatoes(data_dir)


def holdout_split(corpus: pd.DataFrame) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Texts and labels for training and testing: stratified 80/20, seed 42."""
    train_text, test_text, train_y, test_y = train_test_split(
        corpus["text"].tolist(),
        corpus["label"].to_numpy(),
        test_size=TEST_SIZE,
        stratify=corpus["label"],
        random_state=SEED,
    )
    return train_text, test_text, train_y, test_y


def evaluate(data_dir: Path, language: LanguageCode) -> Evaluation:
    """Fit ours and the baseline on the 80% split and score both on the 20% hold-out."""
    train_text, test_text, train_y, test_y = holdout_split(load_corpus(data_dir, language))
    started = time.perf_counter()
    ours = PIPELINES[language]().fit(train_text, train_y)
    seconds = time.perf_counter() - started
    baseline = sentiment.baseline_pipeline(language).fit(train_text, train_y)
    scores = 2.0 * ours.predict_proba(test_text)[:, 1] - 1.0
    neutral = np.abs(scores) < sentiment.NEUTRAL_BAND
    right = (scores > 0) == (test_y == 1)
    return Evaluation(
        language=language,
        train_size=len(train_text),
        test_size=len(test_text),
        accuracy=float(right.mean()),
        baseline_accuracy=float(baseline.score(test_text, test_y)),
        neutral_share=float(neutral.mean()),
        neutral_accuracy=float(right[neutral].mean()) if neutral.any() else float("nan"),
        seconds=seconds,
    )


def fit_model(data_dir: Path) -> sentiment.SentimentModel:
    """Both pipelines fitted on all of their corpus; raises DatasetMissing."""
    fitted = {}
    for language, make in PIPELINES.items():
        corpus = load_corpus(data_dir, language)
        fitted[language] = make().fit(corpus["text"].tolist(), corpus["label"].to_numpy())
    return sentiment.SentimentModel(english=fitted["en"], chinese=fitted["zh"])


def save(model: sentiment.SentimentModel, model_dir: Path) -> Path:
    """Write the artifact and its manifest atomically (a replica starting meanwhile sees old or new)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    artifact = model_dir / ARTIFACT
    _replace(artifact, lambda path: joblib.dump(model, path, compress=3))
    manifest = {"version": sentiment.MODEL_VERSION, "sklearn": sklearn.__version__, "sha256": _sha256(artifact)}
    _replace(model_dir / MANIFEST, lambda path: path.write_text(json.dumps(manifest, indent=2)))
    return artifact


def load(model_dir: Path) -> sentiment.SentimentModel | None:
    """The stored model, or None if missing, of another version or scikit-learn, or not matching its hash."""
    artifact, manifest_path = model_dir / ARTIFACT, model_dir / MANIFEST
    if not (artifact.is_file() and manifest_path.is_file()):
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError:
        return None
    expected = {"version": sentiment.MODEL_VERSION, "sklearn": sklearn.__version__, "sha256": _sha256(artifact)}
    if {key: manifest.get(key) for key in expected} != expected:
        return None
    try:
        model = joblib.load(artifact)
    except (AttributeError, ImportError, EOFError, pickle.UnpicklingError) as error:
        # Written by code that has changed since without a version bump: retrain rather than crash.
        log.warning("stored sentiment model cannot be loaded (%s); it will be retrained", error)
        return None
    return model if isinstance(model, sentiment.SentimentModel) else None


def load_or_train(model_dir: Path, data_dir: Path) -> sentiment.SentimentModel:
    """The stored model if valid, else one trained on all data (corpora fetched if missing) and stored.

    Raises whatever `datasets.fetch` raises when the corpora can be neither found nor downloaded.
    """
    model = load(Path(model_dir))
    if model is not None:
        return model
    datasets.fetch(Path(data_dir), names=list(CORPORA))
    model = fit_model(Path(data_dir))
    save(model, Path(model_dir))
    return model


def _replace(target: Path, write: Callable[[Path], object]) -> None:
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        write(Path(name))
        os.chmod(name, 0o644)  # mkstemp's 0600 would hide the model from a service running as another user
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("var/datasets"))
    parser.add_argument("--out", type=Path, default=Path("var/models/feedback"))
    parser.add_argument("--skip-evaluation", action="store_true", help="only fit on all data and store")
    args = parser.parse_args(argv)
    datasets.fetch(args.data_dir, names=list(CORPORA))
    if not args.skip_evaluation:
        for language in PIPELINES:
            result = evaluate(args.data_dir, language)
            print(json.dumps(asdict(result)))
            print(
                f"{language}: hold-out accuracy {result.accuracy:.4f} vs TF-IDF+LR baseline "
                f"{result.baseline_accuracy:.4f} ({result.test_size} texts; fit in {result.seconds:.1f} s; "
                f"{result.neutral_share:.1%} neutral, {result.neutral_accuracy:.2f} of them right)"
            )
    started = time.perf_counter()
    artifact = save(fit_model(args.data_dir), args.out)
    print(
        f"fit on all data in {time.perf_counter() - started:.1f} s; {artifact} {artifact.stat().st_size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
