"""Top keywords of a period's feedback texts: jieba's TF-IDF extraction for Chinese (its IDF table comes
from a large general corpus, so everyday words rank low even in a small period), scikit-learn's TF-IDF
for English, and one ranking over both languages.

The two weights are on different scales, so each language's weights are divided by that language's top
weight and multiplied by the language's share of the texts: a language with a tenth of the feedback
contributes its top keyword at a tenth of the other's.

Also the tokenisers that topics.py shares. jieba is imported on first use, not at import: loading its
dictionary takes about a second and its logger prints to stderr.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer


def word_set(words: str) -> frozenset[str]:
    """The whitespace-separated words of a string, as a set: word lists stay readable in the source."""
    return frozenset(words.split())


CHINESE_LANGUAGES = frozenset({"zh", "mixed"})  # texts that go through jieba

# Contraction stubs left by the tokeniser ("didn't" -> "didn") and filler words of reviews.
STOP_WORDS_EN = ENGLISH_STOP_WORDS | {
    "don", "didn", "doesn", "isn", "wasn", "weren", "won", "wouldn", "couldn", "ve", "ll", "re", "just",
    "really", "got", "get", "bit", "lot", "did", "does", "im", "ok", "okay",
}  # fmt: skip
# Function and filler words that jieba's IDF table does not push down far enough for short reviews.
STOP_WORDS_ZH = word_set(
    "没有 什么 一个 非常 还是 就是 可以 但是 不过 而且 这个 那个 我们 你们 他们 自己 已经 因为 所以 如果 真的 "
    "有点 比较 感觉 觉得 一下 一直 还有 还会 特别 这么 那么 怎么 为什么 时候 现在 以后 之后 之前 然后 一样 "
    "不是 不会 不能 知道 还算 还行 起来 出来 之类 几天 一次 东东 不要 时间"
)
_ENGLISH_WORD = re.compile(r"(?<![a-z])[a-z]{2,}(?![a-z])", re.IGNORECASE)
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Keyword:
    """A keyword of the period: its weight in the merged ranking (the top one of the larger language
    is near its share of texts), how many texts of its language contain it, and that language."""

    term: str
    weight: float
    count: int
    language: str


@functools.cache
def load_jieba() -> ModuleType:
    """Return the jieba module, imported and its dictionary loaded once, with its logging silenced."""
    import jieba
    import jieba.analyse  # binds jieba.analyse, the TF-IDF extractor

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def english_tokens(text: str) -> list[str]:
    """Lower-cased words of two letters or more, without stop words."""
    return [w for w in map(str.lower, _ENGLISH_WORD.findall(text)) if w not in STOP_WORDS_EN]


def chinese_tokens(text: str) -> list[str]:
    """jieba words of two characters or more (Chinese or Latin), lower-cased, without stop words."""
    words = (w.strip().lower() for w in load_jieba().lcut(text))
    return [
        w
        for w in words
        if len(w) >= 2 and (_CJK.search(w) or (w.isascii() and w.isalpha()))
        if w not in STOP_WORDS_ZH and w not in STOP_WORDS_EN
    ]


def top_keywords(texts: Sequence[str], languages: Sequence[str | None], *, k: int = 20) -> list[Keyword]:
    """Return the k top keywords of the texts, best first. languages gives each text's language
    ("zh", "en" or "mixed"; a mixed text counts in both); empty texts are ignored.

    Raises ValueError if texts and languages differ in length or k < 1."""
    if len(texts) != len(languages):
        raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
    if k < 1:
        raise ValueError("k must be at least 1")
    written = [(t, lang) for t, lang in zip(texts, languages, strict=True) if t.strip()]
    chinese = [t for t, lang in written if lang in CHINESE_LANGUAGES]
    english = [t for t, lang in written if lang != "zh"]
    found = [*_chinese_keywords(chinese, k=k), *_english_keywords(english, k=k)]
    share = {"zh": len(chinese) / max(len(written), 1), "en": len(english) / max(len(written), 1)}
    top = {lang: max((w.weight for w in found if w.language == lang), default=1.0) for lang in share}
    merged = [Keyword(w.term, w.weight / top[w.language] * share[w.language], w.count, w.language) for w in found]
    return sorted(merged, key=lambda w: (-w.weight, -w.count, w.term))[:k]


def _chinese_keywords(texts: list[str], *, k: int) -> list[Keyword]:
    """jieba's TF-IDF over the texts as one document; counts are texts containing the term."""
    if not texts:
        return []
    extract = load_jieba().analyse.extract_tags
    # Ask for extra terms so that dropping stop words still leaves k.
    tags = extract("\n".join(texts), topK=k + len(STOP_WORDS_ZH), withWeight=True)
    kept = [(term.lower(), float(weight)) for term, weight in tags if _is_chinese_keyword(term.lower())][:k]
    column = pa.array(texts, type=pa.string())
    return [Keyword(term, weight, _count(column, term), "zh") for term, weight in kept]


def _is_chinese_keyword(term: str) -> bool:
    return term not in STOP_WORDS_ZH and term not in STOP_WORDS_EN and bool(_CJK.search(term) or term.isalpha())


def _count(column: pa.Array, term: str) -> int:
    return int(pc.sum(pc.match_substring(column, term, ignore_case=True)).as_py() or 0)


def _english_keywords(texts: list[str], *, k: int) -> list[Keyword]:
    """Mean TF-IDF of each word over the texts (rows L2-normalised, so long texts do not dominate)."""
    if not texts:
        return []
    vectorizer = TfidfVectorizer(analyzer=english_tokens, sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # no word left after stop words
        return []
    weight = np.asarray(matrix.mean(axis=0)).ravel()
    count = np.diff(matrix.tocsc().indptr)  # texts containing each word
    terms = vectorizer.get_feature_names_out()
    best = np.lexsort((terms, -count, -weight))[:k]
    return [Keyword(str(terms[i]), float(weight[i]), int(count[i]), "en") for i in best]
