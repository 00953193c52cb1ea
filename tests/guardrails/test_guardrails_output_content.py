"""check_prohibited: the assistant never threatens, shames, rushes, claims legal
consequences or advises on law, tax or credit repair; its normal statements pass."""

from __future__ import annotations

import pytest

from agent.guardrails.output_content import check_prohibited

PROHIBITED = [
    ("You should be ashamed of yourself.", "shaming"),
    ("Not paying on time is irresponsible.", "shaming"),
    ("Act now or else.", "false_urgency"),
    ("This is your final warning.", "false_urgency"),
    ("Pay immediately or we will take action.", "false_urgency"),
    ("You will be arrested if you don't pay.", "legal_threat"),
    ("If you do not pay we will sue you.", "legal_threat"),
    ("We will garnish your wages.", "legal_threat"),
    ("We'll report you to the police.", "legal_threat"),
    ("Your wages will be garnished next month.", "legal_threat"),
    ("You could face jail time.", "legal_threat"),
    ("We are going to take legal action against you.", "legal_threat"),
    ("We will contact your employer about your debt.", "threat"),
    ("You should file for bankruptcy.", "legal_advice"),
    ("Legally, you don't have to pay this debt.", "legal_advice"),
    ("This is tax deductible.", "tax_advice"),
    ("We can remove it from your credit report.", "credit_repair"),
    ("I can't give legal advice, but you should file for bankruptcy.", "legal_advice"),
    ("Stop making excuses and pay.", "harassment"),
]

ALLOWED = [
    "A payment more than 10 days late gets a $15.00 late fee.",
    "I can connect you with a person.",
    "If you're thinking about suicide, call or text 988.",
    "I can't give legal advice.",
    "I can't give legal or tax advice; please consult an attorney or a tax professional.",
    "We will never threaten you.",
    "You won't be arrested over a loan.",
    "Your payment of $165.00 is due on March 13, 2026.",
    "I've created a payment link valid for 24 hours.",
    "Paying on time can help your credit.",
    "The late fee was waived.",
    "I can't remove information from your credit report, but a person can review a dispute.",
    "You're chatting with an automated assistant; you can ask for a human at any time.",
    "Your account is 12 days past due.",
    "A person will take over this conversation shortly.",
    "I've recorded your promise to pay $100.00 on April 2, 2026.",
]


@pytest.mark.parametrize(("reply", "kind"), PROHIBITED)
def test_prohibited_reply_is_flagged(reply: str, kind: str) -> None:
    kinds = [v.kind for v in check_prohibited(reply)]
    assert kind in kinds, (reply, kinds)


@pytest.mark.parametrize("reply", ALLOWED)
def test_normal_policy_statements_pass(reply: str) -> None:
    assert check_prohibited(reply) == []
