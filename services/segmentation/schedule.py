"""Run schedules (`RAPPORT_SEGMENTATION_SCHEDULE`): "@hourly", "@daily", "HH:MM" (every day, UTC), "every 30m"."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_EVERY = re.compile(r"every\s+(\d+)\s*([mhd])")
_DAILY_AT = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def next_due(schedule: str, after: datetime) -> datetime:
    """The first time strictly after `after` (aware, UTC) that `schedule` names; raises ValueError for a
    schedule it cannot read."""
    text = schedule.strip().lower()
    if text == "@hourly":
        return after.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if text == "@daily":
        text = "00:00"
    if match := _DAILY_AT.fullmatch(text):
        due = after.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)
        return due if due > after else due + timedelta(days=1)
    if match := _EVERY.fullmatch(text):
        step = timedelta(**{_UNITS[match[2]]: int(match[1])})
        if step <= timedelta(0):
            raise ValueError("the interval must be positive")
        return after + step
    raise ValueError(f'unreadable schedule {schedule!r}: use "@hourly", "@daily", "HH:MM" or "every 6h"')
