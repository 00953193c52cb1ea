"""Output checks: grounding, nothing before verification, no other customer's loans."""

from datetime import date

from agent.guardrails.output_checks import (
    check_disclosure_before_verification,
    check_foreign_loans,
    check_grounding,
)

TODAY = date(2026, 3, 10)
EVIDENCE = [
    '{"past_due_amount": "$165.00", "next_due_date": "March 15, 2026", '
    '"raw": "2762.97", "due": "2026-04-15"}'
]


def kinds(violations) -> list[tuple[str, str]]:
    return [(v.kind, v.detail) for v in violations]


def test_figures_from_tool_results_and_policy_pass(policy) -> None:
    reply = (
        "You owe $165.00, next due March 15, 2026; payoff $2,762.97; April 15 too. "
        "Late fee $15.00. Promise by March 24, 2026 (today is March 10, 2026)."
    )
    assert check_grounding(reply, EVIDENCE, policy, TODAY) == []


def test_invented_figures_are_caught(policy) -> None:
    reply = "You owe $170.00 and it is due March 16, 2026."
    assert kinds(check_grounding(reply, EVIDENCE, policy, TODAY)) == [
        ("amount_not_grounded", "$170.00"),
        ("ungrounded_date", "March 16, 2026"),
    ]


def test_before_verification_only_policy_amounts(policy) -> None:
    assert check_disclosure_before_verification("A late fee is $15.00.", False, policy) == []
    found = kinds(check_disclosure_before_verification("Loan L100 owes $165.00", False, policy))
    assert ("account_data_before_verification", "$165.00") in found
    assert ("account_data_before_verification", "L100") in found
    assert check_disclosure_before_verification("Loan L100 owes $165.00", True, policy) == []


def test_other_customers_loans_are_caught_but_urls_are_not_read() -> None:
    assert kinds(check_foreign_loans("About L200: nothing.", {"L100"})) == [
        ("other_customer_data", "L200")
    ]
    assert check_foreign_loans("Pay at http://x/pay/ab-CD1234 for L100", {"L100"}) == []
