"""Phone numbers (agent/language/phones.py): E.164 through libphonenumber, US by default."""

from __future__ import annotations

import pytest

from agent.language.phones import (
    extract_phone,
    grouped_like_phone,
    might_hold_phone,
    phone_digits,
    phone_shaped,
    same_phone,
    to_e164,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(734) 555-0191", "+17345550191"),
        ("734.555.0191", "+17345550191"),
        ("1 734 555 0191", "+17345550191"),
        ("+1-734-555-0191", "+17345550191"),
        ("734-555-0191 ext 12", "+17345550191"),
        ("+44 20 7946 0958", "+442079460958"),  # another country keeps its code
    ],
)
def test_e164(text: str, expected: str) -> None:
    assert to_e164(text) == expected


@pytest.mark.parametrize("text", ["555-0100", "12345", "abc", "", "1234567890123456789"])
def test_not_a_complete_number(text: str) -> None:
    assert to_e164(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+1-734-555-0191", "7345550191"),
        ("1 (734) 555-0191", "7345550191"),
        ("+1-555-0100", "5550100"),  # the demo book's local numbers
        ("5550100", "5550100"),
        ("", ""),
    ],
)
def test_phone_digits(text: str, expected: str) -> None:
    assert phone_digits(text) == expected


def test_same_phone() -> None:
    assert same_phone("+1-734-555-0191", "(734) 555-0191")
    assert same_phone("+1-555-0100", "555 0100")
    assert same_phone("+1-734-555-0191", "555-0191")  # local against full
    assert not same_phone("+1-734-555-0191", "+1-734-555-0192")
    assert not same_phone("", "")
    assert not same_phone("0191", "+1-734-555-0191")  # too short to match a suffix


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my number is (734) 555-0191", "7345550191"),
        ("call 555-0191", "5550191"),
        ("no number here", None),
    ],
)
def test_extract_phone(text: str, expected: str | None) -> None:
    assert extract_phone(text) == expected
    assert might_hold_phone(text) == (expected is not None)


def test_digit_groups_shaped_like_a_phone() -> None:
    assert grouped_like_phone(["734", "555", "0191"])
    assert not grouped_like_phone(["7345", "550191"])
    assert phone_shaped(["734", "5550191"])
    assert phone_shaped(["1", "734", "555", "0191"])
    assert not phone_shaped(["034", "555", "0191"])  # an area code never starts with 0
    assert not phone_shaped(["73", "45550191"])  # split where a phone never splits
