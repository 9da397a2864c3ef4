"""Analysis on write: language, sentiment and aspects of a batch of texts, in one vectorised pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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

    def _score_with_sentences(self, written: list[str], detected: list[str]) -> tuple[np.ndarray, list[list[Any]]]:
        """Text scores and aspect mentions from ONE model call: a call costs several ms whatever its size, and a
        single write would otherwise pay it twice (the texts, then the sentences naming an aspect)."""
        text_scores: list[np.ndarray] = []

        def score_together(sentences: Sequence[str]) -> np.ndarray:
            sentence_languages = language.detect_languages(list(sentences)).tolist()
            both = self.model.scores([*written, *sentences], [*detected, *sentence_languages])
            text_scores.append(both[: len(written)])
            return np.asarray(both[len(written) :], dtype=float)

        mentions = aspects.detect_aspects(written, score_sentences=score_together)
        # No sentence named an aspect: the scorer was never called.
        scores = text_scores[0] if text_scores else self.model.scores(written, detected)
        return np.asarray(scores, dtype=float), mentions

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
        scores, mentions = self._score_with_sentences(written, detected) if written else (np.empty(0), [])
        labels: Sequence[str] = self.model.labels(scores).tolist() if written else []
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
