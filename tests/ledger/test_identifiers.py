"""One rule for what a loan number looks like, in customers' messages and in replies."""

from __future__ import annotations

import pytest

from agent.ledger.identifiers import canonical, loan_numbers_in, loan_numbers_shown


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
