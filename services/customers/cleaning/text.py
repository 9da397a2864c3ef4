"""Free text: missing-value detection, whitespace and Unicode normalisation, title-casing of shouted input.

Rules of `clean_text`, in order:
1. Full-width digits and Latin letters (U+FF10-FF5A, typed by Chinese input methods: "１３８", "ＡＢＣ") become
   ASCII, as NFKC would. Other compatibility characters (full-width Chinese punctuation "，（）", "²", "ﬁ") are
   kept: full NFKC would rewrite them, and "，" is correct in Chinese text.
2. Control characters, zero-width spaces, word joiners, soft hyphens and byte-order marks are removed
   (PostgreSQL rejects NUL in text; the others are invisible copy-paste debris).
3. Runs of Unicode whitespace (anything `str.isspace`, including the ideographic space U+3000 and NBSP)
   become one ASCII space; leading and trailing whitespace is dropped. Line breaks are whitespace too.
4. Unicode NFC, so "é" typed as e + combining accent equals the precomposed "é".
5. An empty result is None.
"""

from __future__ import annotations

import numbers
import re
import unicodedata
from typing import Any, cast

import numpy as np
import pandas as pd

from . import errors

# Full-width 0-9, A-Z, a-z -> ASCII; the whole full-width ASCII block for syntaxes that are ASCII anyway.
_FULLWIDTH_ALNUM = {
    **{code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)},
    **{code: code - 0xFEE0 for code in range(0xFF21, 0xFF3B)},
    **{code: code - 0xFEE0 for code in range(0xFF41, 0xFF5B)},
}
_FULLWIDTH_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}

# Controls that are not whitespace, soft hyphen, zero-width space, word joiner, byte-order mark.
INVISIBLE = (
    "".join(chr(code) for code in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if not chr(code).isspace())
    + "\u00ad\u200b\u2060\ufeff"
)
_INVISIBLE_RE = re.compile(f"[{re.escape(INVISIBLE)}]")
_WORD_BREAK_RE = re.compile(r"([ -])")
_KEY_DROP_RE = re.compile(r"[.'’]")
_KEY_SPACE_RE = re.compile(r"[-_/]")


def is_missing(value: object) -> bool:
    """True for None and every scalar pandas counts as missing (NaN, Decimal NaN, NA, NaT).

    Exactly `Series.isna()`, so a frame and a single record agree on which values are absent.
    """
    if value is None:
        return True
    if isinstance(value, str):
        return False
    return pd.api.types.is_scalar(value) and bool(pd.isna(cast(Any, value)))


def fold_fullwidth(text: str, *, punctuation: bool = False) -> str:
    """Full-width digits and Latin letters as ASCII; with `punctuation`, also "＋", "＠", "－", "（" and the rest."""
    return text.translate(_FULLWIDTH_ASCII if punctuation else _FULLWIDTH_ALNUM)


def preview(value: object, *, limit: int = 40) -> str:
    """A short repr of a rejected value for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clean_text(value: object, *, field: str = "text", max_length: int | None = None) -> str | None:
    """The value trimmed, whitespace-collapsed and NFC-normalised (see the module docstring); None if empty.

    Integers are accepted as their decimal digits (a numeric CSV column). Raises `CleaningError` for other
    non-text values and for text longer than `max_length` characters after cleaning.
    """
    if is_missing(value):
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        value = str(int(value))
    if not isinstance(value, str):
        raise errors.CleaningError(field, f"expected text, got {type(value).__name__}")
    text = _INVISIBLE_RE.sub("", fold_fullwidth(value))
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    if not text:
        return None
    if max_length is not None and len(text) > max_length:
        raise errors.CleaningError(field, f"at most {max_length} characters, got {len(text)}")
    return text


def capitalise_words(text: str) -> str:
    """All-lower or all-upper text with each space- or hyphen-separated word capitalised; mixed case kept.

    "new york" and "NEW YORK" become "New York"; "McAllen" and "São Paulo" are left as typed, because mixed
    case is a human decision we cannot improve on. Apostrophes do not start a word ("xi'an" -> "Xi'an").
    """
    if not (text.islower() or text.isupper()):
        return text
    words = _WORD_BREAK_RE.split(text)
    return unicodedata.normalize("NFC", "".join(word.capitalize() for word in words))


def lookup_key(spelling: str) -> str:
    """The spelling as a vocabulary key: lower-cased, dots and apostrophes dropped, "-", "_", "/" as spaces,
    whitespace collapsed ("Ph.D." -> "phd", "U.S.A." -> "usa", "non-binary" -> "non binary")."""
    return " ".join(_KEY_SPACE_RE.sub(" ", _KEY_DROP_RE.sub("", spelling.lower())).split())
