"""Lenient parsing of tool arguments (a model may send "$165", "165.5" or "2026-03-13")."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from agent.policy.calculations import to_money


def parse_amount(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    text = re.sub(r"[\s$,]|usd|dollars?", "", str(value), flags=re.IGNORECASE)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return to_money(amount)


def parse_iso_date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def parse_loose_date(value: object, today: date | None = None) -> date | None:
    """ISO first, then the conversational forms the slot extractor understands."""
    parsed = parse_iso_date(value)
    if parsed is not None or not isinstance(value, str):
        return parsed
    from agent.engine.offline.slots import extract_birth_date, extract_date

    if today is None:
        return extract_birth_date(value)
    found = extract_date(value, today)
    return found.value if found else None
