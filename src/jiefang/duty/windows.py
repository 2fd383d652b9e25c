"""When a shift runs: its windows in local time, and whether one is running now. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ShiftTimes:
    start_time: time
    end_time: time
    weekdays: int  # bit i set: the shift starts on ISO weekday i + 1


def weekdays_mask(days: list[int]) -> int:
    """Return the bit mask of ISO weekdays (1 = Monday ... 7 = Sunday)."""
    return sum(1 << (d - 1) for d in set(days))


def weekdays_list(mask: int) -> list[int]:
    """Return the ISO weekdays set in ``mask``."""
    return [d for d in range(1, 8) if mask & (1 << (d - 1))]


def window_on(shift: ShiftTimes, day: date, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """Return the (start, end) of the shift that starts on ``day``, or None if it does not run then.

    An end time at or before the start time ends on the next day.
    """
    if not shift.weekdays & (1 << (day.isoweekday() - 1)):
        return None
    start = datetime.combine(day, shift.start_time, tz)
    end_day = day + timedelta(days=1) if shift.end_time <= shift.start_time else day
    return start, datetime.combine(end_day, shift.end_time, tz)


def running_window(shift: ShiftTimes, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """Return the window of the shift containing ``now`` (today's, or last night's), or None."""
    local = now.astimezone(tz)
    for day in (local.date(), local.date() - timedelta(days=1)):
        window = window_on(shift, day, tz)
        if window and window[0] <= local < window[1]:
            return window
    return None
