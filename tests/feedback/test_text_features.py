"""Features of the sentiment models: negation scopes, hashed character n-grams, VADER valence."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from services.feedback import text_features

pytestmark = pytest.mark.database_independent


def test_english_negation_reaches_to_the_end_of_the_clause() -> None:
    tokens = text_features.english_tokens("Not bad at all, arrived early but didn’t fit")
    assert tokens == ["not", "not_bad", "not_at", "not_all", "arrived", "early", "didn't", "not_fit"]


def test_chinese_negation_marks_the_words_after_it() -> None:
    tokens = text_features.chinese_tokens("我不喜欢这个颜色，物流很快")
    assert "not_喜欢" in tokens
    assert "物流" in tokens
    assert not any(token.startswith("not_") for token in tokens[tokens.index("物流") :])


@pytest.mark.parametrize("ngram_range", [(1, 1), (2, 5), (1, 3)])
def test_char_ngram_counts_match_scikit_learn_counts(ngram_range: tuple[int, int]) -> None:
    texts = ["Fast delivery!", "", "a", "很好很好", "aaaa", "Refund OK"]
    hashed = text_features.CharNgramCounts(ngram_range=ngram_range, n_bits=20).fit(texts).transform(texts)
    reference = CountVectorizer(analyzer="char", ngram_range=ngram_range, lowercase=True).fit_transform(texts)
    assert hashed.shape == (len(texts), 1 << 20)
    # Same number of n-grams per text, and the same multiset of counts (no collisions at 2**20).
    assert np.array_equal(np.asarray(hashed.sum(axis=1)).ravel(), np.asarray(reference.sum(axis=1)).ravel())
    for row in range(len(texts)):
        assert sorted(hashed[row].data.tolist()) == sorted(reference[row].data.astype(np.float32).tolist())


def test_char_ngrams_never_span_two_texts() -> None:
    counts = text_features.CharNgramCounts(ngram_range=(2, 4), n_bits=16)
    together = counts.transform(["ab", "cd", "", "好"])
    alone = [counts.transform([text]) for text in ["ab", "cd", "", "好"]]
    for row, single in enumerate(alone):
        assert (together[row] != single).nnz == 0


def test_char_ngram_counts_refuse_bad_parameters() -> None:
    with pytest.raises(ValueError, match="ngram_range"):
        text_features.CharNgramCounts(ngram_range=(3, 2)).fit([])
    with pytest.raises(ValueError, match="n_bits"):
        text_features.CharNgramCounts(n_bits=40).fit([])


def test_lexicon_features_are_non_negative_and_signed_by_vader() -> None:
    features = text_features.LexiconFeatures().fit([]).transform(["I love it", "I hate it", "", "not good"])
    assert features.shape == (4, 4)
    assert np.all(features >= 0)
    assert features[0, 0] > 0  # positive compound
    assert features[0, 1] == 0
    assert features[1, 1] > 0  # negative compound
    assert features[1, 0] == 0
    assert np.all(features[2] == 0)
    assert features[3, 1] > 0  # VADER's own negation rule
