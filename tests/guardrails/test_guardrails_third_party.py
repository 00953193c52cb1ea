"""detect_third_party: someone saying the loan is another person's, not an account holder
talking about family."""

from __future__ import annotations

import pytest

from agent.guardrails.third_party import detect_third_party

THIRD_PARTIES = [
    ("I'm Maria's husband, what's her balance?", "spouse"),
    ("checking for my mom", "parent"),
    ("my daughter's loan is past due", "child"),
    ("I'm writing on behalf of my client", "representative"),
    ("calling on behalf of my mother", "parent"),
    ("how much is left on my wife's loan?", "spouse"),
    ("I'm asking for my mother, she can't use the computer", "parent"),
    ("the loan is in my wife's name", "spouse"),
    ("I am her son", "child"),
    ("I'm his power of attorney", "representative"),
    ("this is her employer calling", "employer"),
    ("my dad has a loan with you and wants to pay it off", "parent"),
    ("my wife wants to know her balance", "spouse"),
    ("I'm the daughter of the account holder", "child"),
    ("hi, I'm calling about my husband's account", "spouse"),
    ("what's her payoff amount? she's my mom", None),
    ("I'm James's roommate, he asked me to pay his loan", "roommate"),
]

ACCOUNT_HOLDERS = [
    "my husband lost his job and I can't pay",
    "my wife and I are struggling",
    "my mom is sick so I'm behind on my loan",
    "I'm paying for my mom's medical bills",
    "my son's school fees made me short this month",
    "can my wife pay for me?",
    "my husband will make the payment this week",
    "I'm calling about my own loan",
    "someone called on behalf of Harbor asking for my card",
    "my friend told me you offer deferrals",
    "my boss cut my hours",
    "my daughter is helping me with this chat",
    "I'm a single mom",
    "my mother passed away and I need time",
    "my husband's job ended so money is tight",
]


@pytest.mark.parametrize(("text", "relation"), THIRD_PARTIES)
def test_third_party(text: str, relation: str | None) -> None:
    verdict = detect_third_party(text)
    assert verdict.is_third_party, text
    assert verdict.evidence
    if relation is not None:
        assert verdict.relation == relation


@pytest.mark.parametrize("text", ACCOUNT_HOLDERS)
def test_account_holder_talking_about_family_is_not_a_third_party(text: str) -> None:
    assert not detect_third_party(text).is_third_party, text
