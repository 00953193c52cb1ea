"""How replies write money and dates (POLICY.md: ``$1,234.56``, ``March 13, 2026``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from agent.policy.calculations import to_money


def format_money(amount: Decimal | int | str) -> str:
    value = to_money(Decimal(str(amount)))
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def format_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def format_day_with_weekday(day: date) -> str:
    return f"{day:%A}, {format_date(day)}"


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
