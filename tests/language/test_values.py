"""Tool-argument parsing, months and weekdays, edit distance and the lexicon's
normalisation (agent/language)."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest

from agent.language.amounts import parse_amount
from agent.language.dates import (
    MONTH_ABBREVIATIONS,
    MONTH_NAMES,
    MONTHS,
    WEEKDAY_NAMES,
    WEEKDAYS,
    parse_iso_date,
    parse_loose_date,
)
from agent.language.normalize import normalize_for_lexicon
from agent.language.typos import TypoFixer, edit_distance, within_distance

TODAY = date(2026, 3, 10)  # a Tuesday


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$165", Decimal("165.00")),
        ("165.5", Decimal("165.50")),
        ("1,000 dollars", Decimal("1000.00")),
        (" 75 USD ", Decimal("75.00")),
        (42, Decimal("42.00")),
        (Decimal("10.005"), Decimal("10.01")),  # half-up to the cent
        ("lots", None),
        ("NaN", None),
        ("Infinity", None),
        (True, None),
        (None, None),
    ],
)
def test_parse_amount(value: object, expected: Decimal | None) -> None:
    assert parse_amount(value) == expected


def test_parse_iso_date() -> None:
    assert parse_iso_date("2026-03-20") == date(2026, 3, 20)
    assert parse_iso_date("2026-03-20T10:00:00Z") == date(2026, 3, 20)
    assert parse_iso_date(date(2026, 3, 20)) == date(2026, 3, 20)
    assert parse_iso_date("March 20") is None
    assert parse_iso_date(20) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-20", date(2026, 3, 20)),
        ("friday", date(2026, 3, 13)),  # the tested rules first
        ("March 20th", date(2026, 3, 20)),
        ("in a fortnight", date(2026, 3, 24)),  # dateparser, where the rules read nothing
        ("yesterday", None),  # a payment date is never in the past
        ("whenever", None),
        ("20", None),  # a bare number is not a date
    ],
)
def test_parse_loose_payment_date(value: str, expected: date | None) -> None:
    assert parse_loose_date(value, TODAY) == expected


def test_parse_loose_birth_date() -> None:
    assert parse_loose_date("April 12, 1988") == date(1988, 4, 12)
    assert parse_loose_date("in a fortnight") is None  # no relative dates for a birthday


def test_dateparser_is_not_slow_once_loaded() -> None:
    parse_loose_date("in a fortnight", TODAY)  # imports and warms dateparser
    start = time.perf_counter()
    for _ in range(10):
        parse_loose_date("a fortnight from now", TODAY)
    assert (time.perf_counter() - start) / 10 < 0.05


def test_months_and_weekdays_are_defined_once_and_agree() -> None:
    assert [MONTHS[name.lower()] for name in MONTH_NAMES] == list(range(1, 13))
    assert [MONTHS[name.lower()[:3]] for name in MONTH_NAMES] == list(range(1, 13))
    assert set(MONTH_ABBREVIATIONS) == {name.lower()[:3] for name in MONTH_NAMES} | {"sept"}
    assert [WEEKDAYS[name.lower()] for name in WEEKDAY_NAMES] == list(range(7))


def test_edit_distance_counts_a_transposition_once() -> None:
    assert edit_distance("paymnet", "payment") == 1
    assert edit_distance("fridy", "friday") == 1
    assert edit_distance("abc", "abcdef", limit=3) == 3  # capped
    assert edit_distance("same", "same") == 0
    assert within_distance("attorny", "attorney", 1)
    assert not within_distance("attorny", "attorneys", 1)


def test_typo_fixer() -> None:
    fix = TypoFixer(["attorney", "bankruptcy"], exceptions=["attorneys"])
    assert fix("my atorney said") == "my attorney said"
    assert fix("filing bankrupcty") == "filing bankruptcy"  # two edits for a long word
    assert fix("my attorneys") == "my attorneys"  # an exception stays
    assert fix("tiny typo atty") == "tiny typo atty"  # short words are left alone


def test_normalize_for_lexicon() -> None:
    assert normalize_for_lexicon("I can\u2019t, I won't, I'm done") == (
        "i cannot, i will not, i am done"
    )
    assert normalize_for_lexicon("  pls   get me someon  ") == "please get me someone"
