"""Annual income as money, and the income band derived from it.

Income is annual and in the base currency (USD). Currency symbols are refused rather than stripped:
"¥120,000" is not 120,000 USD, and converting currencies is not cleaning.
"""

from __future__ import annotations

import numbers
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np

from . import errors, text

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Numeric(16, 2): fourteen digits before the decimal point.
INCOME_LIMIT = Decimal(10) ** 14
# Upper bounds (exclusive) of each band; at or above the last one is "very_high".
BAND_THRESHOLDS = (("low", Decimal(25_000)), ("middle", Decimal(75_000)), ("high", Decimal(200_000)))
# Plain digits, or digits grouped in thousands by commas; a decimal comma ("12,50") is refused as unclear.
_AMOUNT_RE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def income_band_for(income: Decimal) -> str:
    """The band of an annual base-currency income: below 25,000 low, below 75,000 middle, below 200,000
    high, otherwise very_high. Used when a record gives an income but no band."""
    for band, upper in BAND_THRESHOLDS:
        if income < upper:
            return band
    return "very_high"


def _amount(value: object, field: str) -> Decimal | None:
    if isinstance(value, bool | np.bool_):
        raise errors.CleaningError(field, "expected an amount, got a boolean")
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    if isinstance(value, float | np.floating):
        return Decimal(str(float(value)))
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str):
        raise errors.CleaningError(field, f"expected an amount, got {type(value).__name__}")
    written = text.clean_text(text.fold_fullwidth(value, punctuation=True), field=field)
    if written is None:
        return None
    if not _AMOUNT_RE.fullmatch(written):
        raise errors.CleaningError(
            field, f"not an amount: {text.preview(written)}; send a number such as 52000 or 52,000.50"
        )
    return Decimal(written.replace(",", ""))


def normalise_income(value: object, *, field: str = "income") -> Decimal | None:
    """The income rounded half-up to cents; None when missing or empty.

    Accepts numbers and text such as "52000", "52,000.50". Raises `CleaningError(field, ...)` for text that
    is not an amount, negative or non-finite amounts, and amounts too large for the column.
    """
    if text.is_missing(value):
        return None
    amount = _amount(value, field)
    if amount is None:
        return None
    if not amount.is_finite():
        raise errors.CleaningError(field, f"not a finite amount: {amount}")
    if amount < 0:
        raise errors.CleaningError(field, "income cannot be negative")
    try:
        rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        rounded = INCOME_LIMIT
    if rounded >= INCOME_LIMIT:
        raise errors.CleaningError(field, f"income must be below {INCOME_LIMIT:,}")
    # "-0" and "0" are the same income; store one spelling.
    return rounded if rounded else ZERO
