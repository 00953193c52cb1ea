"""One rule for what a loan number looks like, in customers' messages and in replies."""

from __future__ import annotations

import pytest

from agent.language.loan_numbers import canonical, loan_numbers_in, loan_numbers_shown


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("my loan is l100", ["L100"]),
        ("pay L100 and LN-4471 please", ["L100", "LN-4471"]),
        ("whats the payoff on LB1? thats my cousin's", ["LB1"]),  # short, in capitals
        ("whats the payoff on loan lz9", ["LZ9"]),  # short, after "loan"
        ("loan #A7 please", ["A7"]),
        ("L100 again: l100", ["L100"]),  # each once
    ],
)
def test_loan_numbers_in_messages(text: str, found: list[str]) -> None:
    assert loan_numbers_in(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "my W2 shows my income",  # a tax form
        "I got 2 loans with you",
        "call me at 9am",
        "the 2nd one",
        "zip 60625, born 1979-08-27",
        "pay me back in q3",
        "a1 service",  # short and lower case, not after "loan"
    ],
)
def test_not_loan_numbers(text: str) -> None:
    assert loan_numbers_in(text) == []


def test_the_customers_own_loans_in_any_case_and_shape() -> None:
    own = ["LA1", "loan_7"]
    assert loan_numbers_in("what about la1", own) == ["LA1"]
    assert loan_numbers_in("and Loan_7?", own) == ["loan_7"]
    assert loan_numbers_in("LB1 or la1", own) == ["LB1", "LA1"]


def test_loan_numbers_shown_in_replies() -> None:
    reply = "Your loan L100 is current; loan LB1 was not found. Tax form W2 is not needed."
    assert loan_numbers_shown(reply) == ["L100", "LB1"]
    assert canonical("ln-4471") == canonical("LN4471") == "LN4471"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("loan # HB 3307", ["HB-3307"]),  # a space after "loan #"
        ("loan hb 3307", ["HB-3307"]),
        ("my loan number is hb 3307", ["HB-3307"]),
        ("account number: hb 3307", ["HB-3307"]),
        ("HB 3307", ["HB-3307"]),  # capitals
        ("my loan is HB 3307, thanks", ["HB-3307"]),
        ("LOAN HB 3307", ["HB-3307"]),
        ("hb3307", ["HB3307"]),
        ("HB-3307", ["HB-3307"]),
        ("loan MAR-2001", ["MAR-2001"]),  # after "loan" even when it reads like a date
    ],
)
def test_loan_numbers_typed_with_a_space(text: str, found: list[str]) -> None:
    assert loan_numbers_in(text) == found
    assert canonical(found[0]) == canonical("HB-3307") or found == ["MAR-2001"]


@pytest.mark.parametrize(
    "text",
    [
        "meet me at 3307 main st",  # a short word before a number
        "the loan at 3307",
        "loan of 5000",
        "loan is 100",
        "hb 3307",  # lower case, not after "loan"
        "Ann Arbor, MI 48104",  # a state and a ZIP
        "ZIP 48104",
        "I CAN PAY 200 ON FRIDAY",  # shouted
        "dob: 27-Aug-1979  zip: 48104-2210",  # dates with a month's abbreviation
        "AUG-27-1979",
        "1979-Aug-27",
        "born aug-1979",
        "27 AUG 1979",
        "DEC 2025",
    ],
)
def test_spaced_or_dated_words_are_not_loan_numbers(text: str) -> None:
    assert loan_numbers_in(text) == []


def test_own_loan_typed_with_a_space_or_without_the_dash() -> None:
    own = ["HB-3307"]
    assert loan_numbers_in("what about hb 3307", own) == ["HB-3307"]
    assert loan_numbers_in("hb3307 and Hb-3307", own) == ["HB-3307"]
