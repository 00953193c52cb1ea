"""mask_pii: cards, bank accounts, routing numbers, SSNs, card expiry and CVV masked;
dates, zips, amounts, phones and loan numbers untouched."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from agent.guardrails.pii import aba_valid, luhn_valid, mask_pii
from agent.guardrails.report import load_items

CASES = load_items(Path(__file__).resolve().parent / "pii_cases.yaml")


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:40] for c in CASES])
def test_pii_case(case: dict[str, Any]) -> None:
    result = mask_pii(case["text"])
    assert [f.kind for f in result.findings] == case["kinds"]
    if "masked" in case:
        assert result.text == case["masked"]
    for leak in case.get("leaks", []):
        assert leak not in result.text
    if not case["kinds"]:
        assert result.text == case["text"]


def test_findings_point_into_the_original_text() -> None:
    text = "card 4111 1111 1111 1111 and ssn 123-45-6789"
    result = mask_pii(text)
    spans = [text[f.start : f.end] for f in result.findings]
    assert spans == ["4111 1111 1111 1111", "123-45-6789"]
    assert result.findings[0].last4 == "1111"
    assert result.findings[1].last4 is None  # an SSN keeps nothing


def test_no_long_digit_run_survives_and_masking_is_idempotent() -> None:
    text = "pay with 5555 5555 5555 4444 exp 01/29 cvv 321, acct 000123456789, routing 021000021"
    once = mask_pii(text).text
    assert not re.search(r"\d{5,}", once.replace(" ", ""))
    assert mask_pii(once).text == once


def test_mask_keeps_at_most_four_digits() -> None:
    for case in CASES:
        for finding in mask_pii(case["text"]).findings:
            assert finding.last4 is None or len(finding.last4) == 4


def test_checksums() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert aba_valid("021000021")
    assert not aba_valid("123456789")
    assert not aba_valid("000000000")


def test_card_without_context_must_pass_luhn() -> None:
    # 16 digits that fail Luhn and have no card word nearby: not claimed as a card
    assert mask_pii("reference 1234567890123456").findings == []


# --- phone numbers introduced as phones, next to the word "account" ----------------------


@pytest.mark.parametrize(
    "text",
    [
        "phone on the account is 734 5550191",
        "phone on the account is 7345550191",
        "my cell on the account: 1 734 555 0191",
        "the number on file for my account is 7345550191",
        "call me at 7345550191 about my account",
        "tel 734-5550191 (account holder)",
        "mobile for the acct is 734 5550191",
        "phone on the account is (734) 5550191",
        "7345550191 is my cell, for the account",
    ],
)
def test_phone_numbers_near_account_are_not_masked(text: str) -> None:
    result = mask_pii(text)
    assert result.findings == [] and result.text == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("my account number is 1234567890", "my account number is [account ending 7890]"),
        # Not introduced as a phone, or a bank word/another number/a sentence end between.
        ("my account number is 7345550191", "my account number is [account ending 0191]"),
        (
            "my phone broke, my bank account is 7345550191",
            "my phone broke, my bank account is [account ending 0191]",
        ),
        (
            "my phone is new. my account is 7345550191",
            "my phone is new. my account is [account ending 0191]",
        ),
        (
            "phone 7345550191 and account 2345678901",
            "phone 7345550191 and account [account ending 8901]",
        ),
        ("my phone acct # is 7345550191", "my phone acct # is [account ending 0191]"),
        # Not shaped like a North American phone number.
        ("phone on the account is 1234567890", "phone on the account is [account ending 7890]"),
        ("phone on the account is 73455501912", "phone on the account is [account ending 1912]"),
        ("account 12345678901 phone", "account [account ending 8901] phone"),
        (
            "cell on the account is 7345550191 routing 021000021",
            "cell on the account is 7345550191 routing [routing number ending 0021]",
        ),
        (
            "phone: 734 5550191, card 4111 1111 1111 1111",
            "phone: 734 5550191, card [card ending 1111]",
        ),
    ],
)
def test_bank_numbers_still_masked_next_to_phone_words(text: str, masked: str) -> None:
    assert mask_pii(text).text == masked
