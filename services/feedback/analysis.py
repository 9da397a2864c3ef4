"""Analysis on write: language, sentiment and aspects of a batch of texts, in one vectorised pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import aspects, language
from .sentiment import SentimentModel


@dataclass(frozen=True)
class AspectResult:
    aspect: str
    sentiment: float
    terms: list[str]


@dataclass(frozen=True)
class Analysis:
    language: str | None
    language_detected: bool
    sentiment: float | None
    label: str | None
    aspects: list[AspectResult]


def label_from_score(*, nps: int | None, csat: int | None) -> str | None:
    """The label of feedback without text: NPS detractor / passive / promoter, CSAT 1-2 / 3 / 4-5."""
    if nps is not None:
        return "negative" if nps <= 6 else "neutral" if nps <= 8 else "positive"
    if csat is not None:
        return "negative" if csat <= 2 else "neutral" if csat == 3 else "positive"
    return None


class Analyzer:
    def __init__(self, model: SentimentModel) -> None:
        self.model = model

    def score_sentences(self, sentences: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.scores(sentences), dtype=float)  # each sentence's own language

    def analyse(
        self,
        texts: Sequence[str],
        languages: Sequence[str | None],
        *,
        nps: Sequence[int | None],
        csat: Sequence[int | None],
    ) -> list[Analysis]:
        """One Analysis per text; an empty text gets no language or sentiment, and its label from its score."""
        with_text = [i for i, text in enumerate(texts) if text.strip()]
        given = [languages[i] for i in with_text]
        written = [texts[i] for i in with_text]
        guessed: Sequence[str] = language.detect_languages(written).tolist() if written else []
        detected = [lang or str(guess) for lang, guess in zip(given, guessed, strict=True)]
        scores = np.asarray(self.model.scores(written, detected), dtype=float) if written else np.empty(0)
        labels: Sequence[str] = self.model.labels(scores).tolist() if written else []
        mentions = aspects.detect_aspects(written, score_sentences=self.score_sentences) if written else []
        results = [
            Analysis(None, False, None, label_from_score(nps=nps[i], csat=csat[i]), []) for i in range(len(texts))
        ]
        for position, i in enumerate(with_text):
            results[i] = Analysis(
                language=detected[position],
                language_detected=given[position] is None,
                sentiment=round(float(scores[position]), 4),
                label=str(labels[position]),
                aspects=[
                    AspectResult(str(m.aspect), round(float(m.sentiment), 4), list(m.terms)) for m in mentions[position]
                ],
            )
        return results
