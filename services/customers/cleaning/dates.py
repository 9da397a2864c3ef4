"""Dates and timestamps from the formats customers and partner systems actually send.

Date rules (one deterministic reading per input, never a guess):
- Year first is always year-month-day: 2024-03-05, 2024/3/5, 2024.3.5, 20240305, 2024年3月5日 (or 5号).
- Dots with the year last are always day-first, the European way: 05.03.2024 is 5 March.
- Slashes or dashes with the year last (05/03/2024) are day-first in Europe and month-first in the US, so
  the order is taken from the number that cannot be a month: 25/03/2024 is 25 March, 03/25/2024 is
  25 March. When both numbers could be a month and differ, the date is refused as ambiguous rather than
  guessed: a silently swapped birthday is worse than a rejected row.
- English month names: "5 March 2024", "05-Mar-2024", "March 5, 2024".
- Two-digit years are refused (which century?).
- A time after the date ("2024-03-05T23:30:00-05:00", "2024/3/5 10:20") is allowed; `parse_date` keeps
  the calendar date as written, it does not convert to UTC first.
- Any other ISO 8601 form Python's `datetime.fromisoformat` reads (week dates, basic format) is accepted.
Impossible dates (2024-02-30) are refused.

Timestamps (`parse_datetime`) are always aware UTC: naive input is taken as UTC, offsets are converted.
Numbers are Unix epoch time: seconds, or milliseconds when the magnitude is at least 1e11 (1e11 seconds
is the year 5138, 1e11 milliseconds is March 1973). As text, only digit strings of nine or more digits
are epoch time; eight digits are a YYYYMMDD date.
"""

from __future__ import annotations

import numbers
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from . import errors, text

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BIRTH_YEAR_MIN = 1900
MILLIS_FROM = 10**11
_FORMATS_HINT = "use YYYY-MM-DD (also read: 2024/3/5, 20240305, 2024年3月5日, 05.03.2024, 5 March 2024)"

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_TIME = (
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
    r"\s*(?P<ampm>[ap]\.?m\.?)?\s*(?P<offset>z|utc|gmt|[+-]\d{2}(?::?\d{2})?)?"
)
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATES = [
    r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})",
    r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})",
    r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]",
    r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})",
    r"(?P<a>\d{1,2})(?P<sep>[-/])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})",
    rf"(?P<d>\d{{1,2}}){_ORDINAL}[ -](?P<mon>[a-z]+)\.?,?[ -](?P<y>\d{{4}})",
    rf"(?P<mon>[a-z]+)\.? (?P<d>\d{{1,2}}){_ORDINAL},? (?P<y>\d{{4}})",
]
_DATE_RES = [re.compile(rf"{pattern}(?:(?:\s*t\s*|\s+|(?<=[日号])){_TIME})?", re.IGNORECASE) for pattern in _DATES]
_EPOCH_TEXT_RE = re.compile(r"-?\d{9,}(?:\.\d+)?")


def _ymd(match: re.Match[str], field: str, written: str) -> tuple[int, int, int]:
    groups = match.groupdict()
    year = int(groups["y"])
    if groups.get("mon"):
        month = _MONTHS.get(groups["mon"].lower())
        if month is None:
            raise errors.CleaningError(field, f"unknown month name in {text.preview(written)}; {_FORMATS_HINT}")
        return year, month, int(groups["d"])
    if groups.get("a"):
        first, second = int(groups["a"]), int(groups["b"])
        if first > 12 >= second:
            return year, second, first
        if second > 12 >= first or first == second:
            return year, first, second
        if first <= 12 and second <= 12:
            raise errors.CleaningError(
                field,
                f"ambiguous date {text.preview(written)}: day-first and month-first readings differ; use YYYY-MM-DD",
            )
        raise errors.CleaningError(field, f"not a real date: {text.preview(written)}")
    return year, int(groups["m"]), int(groups["d"])


def _offset(spelled: str, field: str) -> timezone:
    if spelled.lower() in {"z", "utc", "gmt"}:
        return UTC
    digits = spelled[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    if delta >= timedelta(hours=24) or int(digits[2:] or 0) >= 60:
        raise errors.CleaningError(field, f"not a real UTC offset: {spelled}")
    return timezone(-delta if spelled.startswith("-") else delta)


def _clock(match: re.Match[str], field: str) -> time:
    groups = match.groupdict()
    hour = int(groups["hour"])
    if groups["ampm"]:
        if not 1 <= hour <= 12:
            raise errors.CleaningError(field, f"not a 12-hour clock time: {match.group(0)}")
        hour = hour % 12 + (12 if groups["ampm"][0].lower() == "p" else 0)
    micros = int((groups["fraction"] or "")[:6].ljust(6, "0"))
    tz = _offset(groups["offset"], field) if groups["offset"] else None
    return time(hour, int(groups["minute"]), int(groups["second"] or 0), micros, tzinfo=tz)


def _parse_text(written: str, field: str) -> datetime:
    """The date and time as written (naive unless an offset was given); midnight when no time is given."""
    try:
        return datetime.fromisoformat(written)
    except ValueError:
        pass
    for pattern in _DATE_RES:
        match = pattern.fullmatch(written)
        if match is None:
            continue
        year, month, day = _ymd(match, field, written)
        try:
            calendar_day = date(year, month, day)
            clock = _clock(match, field) if match.group("hour") else time()
        except ValueError:
            raise errors.CleaningError(field, f"not a real date or time: {text.preview(written)}") from None
        return datetime.combine(calendar_day, clock)
    raise errors.CleaningError(field, f"unrecognised date {text.preview(written)}; {_FORMATS_HINT}")


def _written(value: str, field: str) -> str | None:
    return text.clean_text(text.fold_fullwidth(value, punctuation=True), field=field)


def parse_date(value: object, *, field: str = "date") -> date | None:
    """The calendar date of `value` (see the module docstring for the formats); None when missing or empty.

    Accepts `date`, `datetime` (its own calendar date, not converted to UTC), numpy datetimes, integers
    read as digits (20240305) and text. Raises `CleaningError(field, ...)` for impossible, ambiguous or
    unrecognised dates.
    """
    if text.is_missing(value):
        return None
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_):
        value = str(int(value))
    if not isinstance(value, str):
        raise errors.CleaningError(field, f"expected a date as text, got {type(value).__name__}")
    written = _written(value, field)
    return None if written is None else _parse_text(written, field).date()


def parse_birth_date(value: object, *, today: date | None = None, field: str = "birth_date") -> date | None:
    """`parse_date`, then a plausibility check: a birth date lies between 1900-01-01 and `today` (default:
    today in UTC). Raises `CleaningError(field, ...)` like `parse_date`, and for dates out of that range."""
    day = parse_date(value, field=field)
    if day is None:
        return None
    if day > (today or datetime.now(UTC).date()):
        raise errors.CleaningError(field, f"birth date {day.isoformat()} is in the future")
    if day.year < BIRTH_YEAR_MIN:
        raise errors.CleaningError(field, f"birth date {day.isoformat()} is before {BIRTH_YEAR_MIN}")
    return day


def _from_epoch(seconds: Decimal, field: str) -> datetime:
    if abs(seconds) >= MILLIS_FROM:
        seconds = seconds / 1000
    try:
        return EPOCH + timedelta(microseconds=int((seconds * 1_000_000).to_integral_value()))
    except (OverflowError, InvalidOperation):
        raise errors.CleaningError(field, f"epoch time out of range: {seconds}") from None


def _as_utc(moment: datetime) -> datetime:
    if isinstance(moment, pd.Timestamp):
        moment = moment.to_pydatetime(warn=False)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_datetime(value: object, *, field: str = "datetime") -> datetime | None:
    """An aware UTC datetime for `value`; None when missing or empty.

    Naive datetimes and text without an offset are taken as UTC; offsets are converted to UTC; a plain
    date is midnight UTC; numbers are epoch seconds or milliseconds (module docstring). Raises
    `CleaningError(field, ...)` for unreadable, impossible or out-of-range values.
    """
    if text.is_missing(value):
        return None
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, datetime):
        return _as_utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    if isinstance(value, bool | np.bool_):
        raise errors.CleaningError(field, "expected a date and time, got a boolean")
    if isinstance(value, numbers.Integral):
        return _from_epoch(Decimal(int(value)), field)
    if isinstance(value, float | np.floating | Decimal):
        seconds = value if isinstance(value, Decimal) else Decimal(float(value))
        if not seconds.is_finite():
            raise errors.CleaningError(field, f"not a finite epoch time: {value}")
        return _from_epoch(seconds, field)
    if not isinstance(value, str):
        raise errors.CleaningError(field, f"expected a date and time as text, got {type(value).__name__}")
    written = _written(value, field)
    if written is None:
        return None
    if _EPOCH_TEXT_RE.fullmatch(written):
        return _from_epoch(Decimal(written), field)
    try:
        return _as_utc(_parse_text(written, field))
    except OverflowError:
        raise errors.CleaningError(field, f"out of range once converted to UTC: {text.preview(written)}") from None
