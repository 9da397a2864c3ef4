"""Language detection by script: Chinese, English or mixed, for one text or a whole batch."""

from __future__ import annotations

import numpy as np
import pytest

from services.feedback import language

pytestmark = pytest.mark.database_independent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The delivery was late", "en"),
        ("Très bien, merci", "en"),  # Latin script: the English model is the one that can read it
        ("物流很快，包装也很好", "zh"),
        ("服務很好", "zh"),  # traditional characters
        ("我的iPhone坏了", "zh"),  # a Latin brand name inside Chinese
        ("iPhone 的电池不行", "zh"),
        ("The 包装 was torn", "mixed"),
        ("质量很好 but shipping was slow", "mixed"),
        ("Great hotel in 北京, friendly staff and a quiet room", "en"),
        ("", "en"),
        ("12345 !!!", "en"),
        ("😀👍", "en"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert language.detect_language(text) == expected


def test_batch_detection_matches_one_by_one() -> None:
    texts = ["Great", "", "很好", "The 包装 was torn", "😀", "a" * 1000 + "好", "好" * 1000 + "a"]
    assert language.detect_languages(texts).tolist() == [language.detect_language(text) for text in texts]


def test_han_shares_are_fractions_with_letters_weighted_a_third() -> None:
    shares = language.han_shares(["好", "abc", "好abc", "", "🙂"])
    assert np.allclose(shares, [1.0, 0.0, 0.5, 0.0, 0.0])


def test_empty_batch() -> None:
    assert language.detect_languages([]).shape == (0,)
    assert language.han_shares([]).shape == (0,)
