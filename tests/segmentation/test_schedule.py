"""Run schedules: the next due time for each supported spelling, and refusal of the rest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.segmentation.schedule import next_due

pytestmark = pytest.mark.database_independent

NOW = datetime(2026, 11, 26, 14, 35, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("@hourly", datetime(2026, 11, 26, 15, 0, tzinfo=UTC)),
        ("@daily", datetime(2026, 11, 27, 0, 0, tzinfo=UTC)),
        ("02:30", datetime(2026, 11, 27, 2, 30, tzinfo=UTC)),
        ("18:00", datetime(2026, 11, 26, 18, 0, tzinfo=UTC)),
        ("every 6h", datetime(2026, 11, 26, 20, 35, 10, tzinfo=UTC)),
        (" Every 30m ", datetime(2026, 11, 26, 15, 5, 10, tzinfo=UTC)),
    ],
)
def test_next_due(schedule: str, expected: datetime) -> None:
    assert next_due(schedule, NOW) == expected


@pytest.mark.parametrize("schedule", ["nightly", "25:00", "every 0h", "every 5 weeks", ""])
def test_unreadable_schedules_are_refused(schedule: str) -> None:
    with pytest.raises(ValueError, match=r"schedule|interval"):
        next_due(schedule, NOW)
