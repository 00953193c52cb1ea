"""Date arithmetic the policy needs (month steps that clamp to the month's end)."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the last day of the target month."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def within_months(event: date, today: date, months: int) -> bool:
    """True when ``event`` lies in the ``months`` before ``today`` (exclusive start)."""
    return add_months(today, -months) < event <= today


def with_day_of_month(day: date, day_of_month: int) -> date:
    last = calendar.monthrange(day.year, day.month)[1]
    return date(day.year, day.month, min(day_of_month, last))
