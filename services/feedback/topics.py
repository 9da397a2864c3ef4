"""Topic groups over recent feedback: NMF over TF-IDF of English words and jieba-cut Chinese words.

Both languages share one vocabulary and one factorisation: they share no words, so NMF keeps each
topic within one language by itself, and the topics are split between the languages by how much
each has to say rather than by a quota. Each topic reports its top terms, how many texts it is the
strongest topic of, and the texts that load on it most as examples.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer

from . import keywords

# Opinion words say how people feel, which sentiment already measures; left in, they gather the
# praise and the complaints of every subject into "happy" and "disappointed" topics and crowd out what
# the feedback is about. Only words that carry no subject of their own are listed.
OPINION_WORDS = keywords.word_set(
    """
    great good bad terrible awful horrible excellent amazing awesome fantastic wonderful nice fine okay
    decent average mixed feelings happy unhappy glad pleased disappointed disappointing satisfied
    dissatisfied love loved hate hated recommend recommended highly definitely thank thanks experience
    best worst better worse perfect poor super pretty really totally absolutely want buy bought shop
    shopping like liked special stars star
    满意 不满意 失望 开心 喜欢 推荐 强烈推荐 谢谢 体验 一般 还行 不错 很好 糟糕 不好 太差 中规中矩 再来
    再买 好评 差评 完美 垃圾 可能 看看 改进 空间 再看 特别 没有 什么
    """
)

# Below this many texts a word seen once may still be a theme; above it, a word seen once is noise.
_MIN_DF_FROM = 50


@dataclass(frozen=True)
class Topic:
    """A topic: its top terms (best first), the number of texts it is the strongest topic of (`size`),
    its share of all topic weight, the language most of those texts are in, and up to n_examples
    distinct example texts with their indices in the input."""

    terms: tuple[str, ...]
    size: int
    weight: float
    language: str
    examples: tuple[str, ...]
    example_indices: tuple[int, ...]


class TopicModel:
    """NMF topics over TF-IDF, following scikit-learn's estimator contract: `fit(texts, languages)`
    sets `topics_` (largest first) and `labels_`, each text's strongest topic as an index into
    `topics_` (-1 for a text with no counted word)."""

    def __init__(self, n_topics: int = 6, *, n_terms: int = 8, n_examples: int = 3, random_state: int = 0) -> None:
        self.n_topics = n_topics
        self.n_terms = n_terms
        self.n_examples = n_examples
        self.random_state = random_state

    def fit(self, texts: Sequence[str], languages: Sequence[str | None]) -> TopicModel:
        """Fit on the texts; fewer than n_topics topics come out when the texts are too few or too
        alike to fill them (a topic no text is strongest in is dropped), none without any word.

        Raises ValueError if texts and languages differ in length or n_topics < 1."""
        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
        if self.n_topics < 1:
            raise ValueError("n_topics must be at least 1")
        self.topics_: list[Topic] = []
        self.labels_ = np.full(len(texts), -1, dtype=np.int64)
        vectorizer = TfidfVectorizer(
            analyzer=_already_tokens, sublinear_tf=True, min_df=2 if len(texts) >= _MIN_DF_FROM else 1, max_df=0.95
        )
        try:
            matrix = vectorizer.fit_transform(
                [_tokens(text, lang) for text, lang in zip(texts, languages, strict=True)]
            )
        except ValueError:  # no words at all, or none within the document-frequency limits
            return self
        n_components = min(self.n_topics, *matrix.shape)
        model = NMF(n_components=n_components, init="nndsvda", max_iter=400, random_state=self.random_state)
        with warnings.catch_warnings():
            # A few hundred iterations are plenty to rank terms and texts; full convergence is not needed.
            warnings.simplefilter("ignore", ConvergenceWarning)
            loadings = model.fit_transform(matrix)
        strongest = np.where(loadings.max(axis=1) > 0, loadings.argmax(axis=1), -1)
        size = np.bincount(strongest[strongest >= 0], minlength=n_components)
        kept = [int(topic) for topic in np.argsort(-size, kind="stable") if size[topic] > 0]
        renumber = np.full(n_components + 1, -1, dtype=np.int64)  # the last slot maps -1 to -1
        renumber[kept] = np.arange(len(kept))
        self.labels_ = renumber[strongest]
        share = loadings.sum(axis=0) / max(float(loadings.sum()), np.finfo(float).tiny)
        terms = vectorizer.get_feature_names_out()
        language = np.array([lang or "en" for lang in languages])
        for topic in kept:
            members = np.flatnonzero(strongest == topic)
            weights = model.components_[topic]
            best_terms = [i for i in np.argsort(-weights, kind="stable")[: self.n_terms] if weights[i] > 0]
            ranked = members[np.argsort(-loadings[members, topic], kind="stable")]
            examples = _examples(texts, ranked, self.n_examples)
            values, counts = np.unique(language[members], return_counts=True)
            self.topics_.append(
                Topic(
                    terms=tuple(str(terms[i]) for i in best_terms),
                    size=int(size[topic]),
                    weight=float(share[topic]),
                    language=str(values[counts.argmax()]),
                    examples=tuple(texts[i] for i in examples),
                    example_indices=tuple(examples),
                )
            )
        return self


def find_topics(
    texts: Sequence[str],
    languages: Sequence[str | None],
    *,
    n_topics: int = 6,
    n_terms: int = 8,
    n_examples: int = 3,
    random_state: int = 0,
) -> list[Topic]:
    """Return up to n_topics topics of the texts, largest first ([] without any word); see TopicModel.

    Raises ValueError if texts and languages differ in length or n_topics < 1."""
    model = TopicModel(n_topics, n_terms=n_terms, n_examples=n_examples, random_state=random_state)
    return model.fit(texts, languages).topics_


def _tokens(text: str, language: str | None) -> list[str]:
    tokenize = keywords.chinese_tokens if language in keywords.CHINESE_LANGUAGES else keywords.english_tokens
    return [token for token in tokenize(text) if token not in OPINION_WORDS]


def _already_tokens(document: list[str]) -> list[str]:
    return document


def _examples(texts: Sequence[str], ranked: np.ndarray, n: int) -> list[int]:
    """The first n indices of ranked whose texts differ: feedback repeats itself, and three copies of
    one text say less than three texts."""
    chosen: dict[str, int] = {}
    for i in ranked.tolist():
        chosen.setdefault(texts[i].strip(), i)
        if len(chosen) == n:
            break
    return list(chosen.values())
