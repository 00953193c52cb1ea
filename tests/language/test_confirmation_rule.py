"""The one confirmation rule (agent/language/confirmation.py), on its own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from agent.language.confirmation import Answer, Proposal, confirmation_of, is_yes
from agent.language.dates import extract_day_of_month
from tests.confirmation.reply_suite import CASES, ReplyCase

TODAY = date(2026, 3, 10)  # a Tuesday
# What the suite's proposals show on the ledger of tests/llm/harness.py.
SHOWN = {
    "due_date": Proposal(loan_id="L100", day=20),
    "deferral": Proposal(
        loan_id="L100", amounts=(Decimal("150.00"), Decimal("0.00")), dates=(date(2026, 2, 15),)
    ),
    "promise": Proposal(loan_id="L100", amounts=(Decimal("100.00"),), dates=(date(2026, 3, 13),)),
    "fee_waiver": Proposal(loan_id="L100", amounts=(Decimal("15.00"),), dates=(date(2026, 2, 26),)),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_reply_of_the_suite(case: ReplyCase) -> None:
    answer = confirmation_of(case.reply, SHOWN[case.proposal.name], TODAY)
    assert answer.answer.value == case.kind, answer.reason
    assert answer.confirms is (case.kind == "yes")


@pytest.mark.parametrize(
    "text",
    [
        # Questions the code gate took for a yes before (issue #11).
        "ok but how much is it?",
        "please explain what a deferral does first",
        "I confirm nothing",
        "sure, what does it cost?",
        "ok? and my interest?",
        "yes? how does that work?",
        "alright, what does that mean?",
        "yes but change the date",
        "yes, if it's free",
        "I guess so",
    ],
)
def test_nothing_but_a_plain_yes_confirms(text: str) -> None:
    assert not confirmation_of(text, SHOWN["deferral"], TODAY).confirms
    assert not is_yes(text)


def test_a_yes_may_repeat_the_terms_shown_but_not_change_them() -> None:
    promise = SHOWN["promise"]
    assert confirmation_of("yes, $100 on Friday", promise, TODAY).confirms
    assert confirmation_of("yes, on the 13th", promise, TODAY).confirms
    changed = confirmation_of("yes, $100 on Monday", promise, TODAY)
    assert changed.answer is Answer.CHANGED and changed.new_values == {"date": "2026-03-16"}
    more = confirmation_of("ok, $150 then", promise, TODAY)
    assert more.answer is Answer.CHANGED and more.new_values == {"amount": "150.00"}
    loan = confirmation_of("yes, on L200", promise, TODAY)
    assert loan.answer is Answer.CHANGED and loan.new_values == {"loan_id": "L200"}
    day = confirmation_of("yes, the 21st", SHOWN["due_date"], TODAY)
    assert day.answer is Answer.CHANGED and day.new_values == {"day_of_month": "21"}


def test_change_words_that_repeat_the_terms_shown_still_confirm() -> None:
    assert confirmation_of("yes, change it to the 20th", SHOWN["due_date"], TODAY).confirms
    assert not confirmation_of("yes, change it", SHOWN["due_date"], TODAY).confirms


def test_without_a_proposal_values_are_not_compared() -> None:
    """An offer of a person has no terms: "yes, on Friday" is a yes to it."""
    assert confirmation_of("yes, on Friday").confirms
    assert is_yes("yes please") and not is_yes("yes?") and not is_yes("no")


@pytest.mark.parametrize("text", ["sí", "si", "oui", "ja", "是的", "好的", "はい", "да", "yes sí"])
def test_other_languages_are_unclear(text: str) -> None:
    answer = confirmation_of(text, SHOWN["due_date"], TODAY)
    assert answer.answer is Answer.UNCLEAR and answer.keeps_proposal


@pytest.mark.parametrize(
    ("text", "keeps"),
    [
        ("what does it cost?", True),
        ("yes if it's free", True),
        ("maybe", True),
        ("oui", True),
        ("", True),
        ("no", False),
        ("yes the 15th", False),
        ("yes", False),
    ],
)
def test_what_keeps_a_proposal_waiting(text: str, keeps: bool) -> None:
    assert confirmation_of(text, SHOWN["due_date"], TODAY).keeps_proposal is keeps


def test_a_proposal_survives_its_json_and_garbage_shows_nothing() -> None:
    for shown in SHOWN.values():
        assert Proposal.load(shown.dump()) == shown
    for garbage in (None, "x", {"amounts": ["lots"]}, {"day": "the 20th"}, {"dates": [3]}):
        assert Proposal.load(garbage) == Proposal()


def test_first_is_a_day_only_where_it_names_one() -> None:
    """Issue #11: "Can you confirm the new due date first?" re-proposed the 1st."""
    assert extract_day_of_month("Can you confirm the new due date first?") is None
    assert extract_day_of_month("yes, first tell me the fee") is None
    assert extract_day_of_month("the first one") is None
    assert extract_day_of_month("the first") == 1
    assert extract_day_of_month("move it to the second of the month") == 2
    assert extract_day_of_month("first") == 1
    asked = confirmation_of("Can you confirm the new due date first?", SHOWN["due_date"], TODAY)
    assert asked.answer is Answer.QUESTION and asked.new_values == {}
