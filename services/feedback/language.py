"""Which sentiment model reads a text: Chinese, English or both, from the script its letters are in.

Feedback arrives without a language tag, often mixed ("iPhone 的电池不行"), and only two models
exist, so detection is a cheap script count rather than a general language identifier: the share of
Han characters among the letters, done for a whole batch at once on the code points in numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

Language = Literal["zh", "en", "mixed"]
LANGUAGES: tuple[Language, ...] = ("zh", "en", "mixed")

# One Han character carries about as much meaning as three Latin letters (Chinese words average
# about 1.5 characters, English words about 4.7 letters), so letters are counted at a third of a
# character: "我的iPhone坏了" is Chinese, "the 包装 was torn" is mixed.
LETTERS_PER_HAN = 3.0
# From ZH_SHARE of (weighted) Han script up the text is Chinese with Latin brand or model names
# ("iPhone 的电池不行"), which the Chinese model reads as tokens; up to EN_SHARE it is English with a
# stray Chinese name; in between both models score it and are averaged by the share.
ZH_SHARE = 0.6
EN_SHARE = 0.2

# CJK unified ideographs: extension A, the basic block, compatibility ideographs, extensions B-F.
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))
# Basic Latin letters, then Latin-1 Supplement and Latin Extended-A/B letters (café, naïve).
_LATIN_RANGES = ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F))


def han_shares(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """Per text, the weighted share of Han characters among Han characters and Latin letters.

    0.0 for a text with neither (empty, digits, emoji only): the English model, whose lexicon
    knows emoticons and emoji, reads those.
    """
    count = len(texts)
    if count == 0:
        return np.zeros(0)
    # UTF-32 gives one fixed-width integer per code point, so a whole batch is one array.
    points = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    han = _in_ranges(points, _HAN_RANGES)
    latin = _in_ranges(points, _LATIN_RANGES)
    ends = np.cumsum([len(text) for text in texts])
    starts = ends - np.array([len(text) for text in texts])
    han_counts = _segment_sums(han, starts, ends)
    latin_counts = _segment_sums(latin, starts, ends) / LETTERS_PER_HAN
    total = han_counts + latin_counts
    return np.divide(han_counts, total, out=np.zeros(count), where=total > 0)


def languages_from_shares(shares: npt.NDArray[np.float64]) -> npt.NDArray[np.str_]:
    """ "zh", "en" or "mixed" for each share from `han_shares`."""
    return np.where(shares >= ZH_SHARE, "zh", np.where(shares <= EN_SHARE, "en", "mixed"))


def detect_languages(texts: Sequence[str]) -> npt.NDArray[np.str_]:
    """ "zh", "en" or "mixed" for each text of a batch (see `han_shares` for how)."""
    return languages_from_shares(han_shares(texts))


def detect_language(text: str) -> Language:
    """ "zh", "en" or "mixed" for one text; a text without letters counts as English."""
    language: Language = str(detect_languages([text])[0])  # type: ignore[assignment]
    return language


def _in_ranges(points: npt.NDArray[np.uint32], ranges: tuple[tuple[int, int], ...]) -> npt.NDArray[np.int64]:
    mask = np.zeros(points.shape, dtype=bool)
    for low, high in ranges:
        mask |= (points >= low) & (points <= high)
    return mask.astype(np.int64)


def _segment_sums(
    values: npt.NDArray[np.int64], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    # Differences of a running sum give every text's count at once, empty texts included (which
    # np.add.reduceat gets wrong).
    running = np.concatenate(([0], np.cumsum(values)))
    return (running[ends] - running[starts]).astype(np.float64)
