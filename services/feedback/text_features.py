"""Text features for the sentiment models: negation-aware tokens, hashed character n-grams, VADER valence.

Character n-grams carry most of the accuracy (misspellings, word pieces, Chinese without spaces)
and are the costliest feature to extract with scikit-learn's per-text Python loop, so
`CharNgramCounts` hashes them for a whole batch at once in numpy; it also keeps no vocabulary,
which keeps the stored model small.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

_EN_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.,!?;:]")
_EN_NEGATION = re.compile(
    r"not|no|never|nothing|nobody|none|nowhere|neither|nor|cannot|without|hardly|barely|.+n't"
    r"|dont|doesnt|didnt|isnt|wasnt|werent|arent|cant|couldnt|wouldnt|shouldnt|wont|havent|hasnt|hadnt|aint"
)
# A negation reaches to the end of its clause: punctuation, or "but", which turns the sentence.
_EN_SCOPE_END = frozenset({".", ",", "!", "?", ";", ":", "but"})

_ZH_NEGATIONS = frozenset({"不", "没", "没有", "无", "未", "别", "不是", "不会", "不能", "不要", "毫无", "并非", "非"})
_ZH_PUNCTUATION = re.compile(r"[\W_]+")


def english_tokens(text: str) -> list[str]:
    """Lower-case word tokens; words inside a negation's scope get a `not_` prefix."""
    tokens: list[str] = []
    negated = False
    for token in _EN_TOKEN.findall(text.lower().replace("\u2019", "'")):
        if token in _EN_SCOPE_END:
            negated = False
        elif _EN_NEGATION.fullmatch(token):
            negated = True
            tokens.append(token)
        else:
            tokens.append("not_" + token if negated else token)
    return tokens


def chinese_tokens(text: str) -> list[str]:
    """jieba words, lower-cased; words after a negation up to the next punctuation get `not_`."""
    return list(_chinese_tokens(text))


@functools.lru_cache(maxsize=65_536)
def _chinese_tokens(text: str) -> tuple[str, ...]:
    # Cached: segmentation is the costliest step per Chinese text, and feedback repeats itself
    # ("很好", "物流太慢"); training also segments every text twice (hold-out, then all data).
    tokens: list[str] = []
    negated = False
    for word in _jieba().cut(text):
        token = word.strip().lower()
        if not token or _ZH_PUNCTUATION.fullmatch(token):
            negated = False
        elif token in _ZH_NEGATIONS:
            negated = True
            tokens.append(token)
        else:
            tokens.append("not_" + token if negated else token)
    return tuple(tokens)


@functools.cache
def _jieba() -> Any:
    # Imported and initialised on first use: the import and dictionary load take about a second
    # and log to stderr, neither of which belongs in importing this module.
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


class CharNgramCounts(TransformerMixin, BaseEstimator):
    """Counts of the lower-cased character n-grams of each text, hashed into 2**n_bits columns.

    Stateless like scikit-learn's HashingVectorizer, but vectorised over the batch: the texts'
    code points go into one array, and each n-gram's hash is a running polynomial over it, one
    numpy pass per n. N-grams never span two texts. Whitespace is kept as is.
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), n_bits: int = 18) -> None:
        self.ngram_range = ngram_range
        self.n_bits = n_bits

    def fit(self, X: Sequence[str], y: Any = None) -> CharNgramCounts:  # noqa: N803
        """Validates the parameters; raises ValueError for an empty range or n_bits outside 1-30."""
        low, high = self.ngram_range
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range must be 1 <= low <= high, got {self.ngram_range}")
        if not 1 <= self.n_bits <= 30:
            raise ValueError(f"n_bits must be within 1-30, got {self.n_bits}")
        return self

    def transform(self, X: Sequence[str]) -> sp.csr_matrix:  # noqa: N803
        """A (len(X), 2**n_bits) CSR matrix of float32 counts."""
        texts = [text.lower() for text in X]
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        points = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        row_of = np.repeat(np.arange(len(texts)), lengths)
        end_of = np.repeat(np.cumsum(lengths), lengths)  # where each position's text ends
        rows, columns = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        running = np.zeros(points.size, dtype=np.uint64)
        shift = np.uint64(64 - self.n_bits)
        low, high = self.ngram_range
        with np.errstate(over="ignore"):  # the hashes wrap around 2**64 on purpose
            for n in range(1, high + 1):
                starts = points.size - n + 1  # positions where an n-gram can start
                if starts <= 0:
                    break
                running = running[:starts] * _PRIME + points[n - 1 :]
                if n < low:
                    continue
                inside = np.flatnonzero(np.arange(starts) + n <= end_of[:starts])
                # Fibonacci hashing: the top bits of a multiply spread neighbouring values evenly.
                column = ((running[inside] ^ np.uint64(n)) * _GOLDEN) >> shift
                rows.append(row_of[inside])
                columns.append(column.astype(np.int64))
        row, col = np.concatenate(rows), np.concatenate(columns)
        # COO to CSR sums repeated (row, column) pairs into counts, in linear time (no global sort).
        ones = np.ones(row.size, dtype=np.float32)
        return sp.coo_matrix((ones, (row, col)), shape=(len(texts), 1 << self.n_bits)).tocsr()

    def __sklearn_is_fitted__(self) -> bool:
        return True


_PRIME = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio, odd


class LexiconFeatures(TransformerMixin, BaseEstimator):
    """VADER's valence of each text as four non-negative columns: compound split into its positive
    and negative parts, then the positive and negative shares of the text.

    VADER (vaderSentiment 3.3.2, Hutto and Gilbert 2014) rates 7,500 words, emoticons and emoji
    by hand and applies its own negation, intensifier, "but" and capitalisation rules, so these
    columns carry sentiment for words no review corpus taught the model ("refund", "rude").
    """

    def fit(self, X: Sequence[str], y: Any = None) -> LexiconFeatures:  # noqa: N803
        """Stateless: the lexicon ships with vaderSentiment."""
        return self

    def transform(self, X: Sequence[str]) -> npt.NDArray[np.float64]:  # noqa: N803
        """An (n, 4) array: max(compound, 0), max(-compound, 0), pos, neg."""
        polarity = _vader().polarity_scores
        scores = np.array([[s["compound"], s["pos"], s["neg"]] for s in map(polarity, X)]).reshape(-1, 3)
        compound = scores[:, 0]
        return np.column_stack([np.maximum(compound, 0.0), np.maximum(-compound, 0.0), scores[:, 1:]])

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        return np.array(["vader_positive", "vader_negative", "vader_pos_share", "vader_neg_share"], dtype=object)

    def __sklearn_is_fitted__(self) -> bool:
        return True


@functools.cache
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()
