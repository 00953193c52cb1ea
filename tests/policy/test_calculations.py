"""Ledger figures against the numbers stated in ../shared/scenarios/basic.yaml and POLICY.md."""

from datetime import date
from decimal import Decimal

import pytest

from agent.policy.calculations import (
    accrued_interest,
    days_past_due,
    late_fees_to_assess,
    next_installment,
    past_due_amount,
    payoff_amount,
    to_money,
    unpaid_fees,
)
from agent.policy.calendar import add_months, within_months
from agent.policy.facts import FeeFact, InstallmentFact, LoanFacts
from agent.policy.formatting import format_date, format_money, ordinal

D = Decimal


def maria(**overrides) -> LoanFacts:
    """Loan L100 of the public scenarios."""
    values = dict(
        loan_id="L100",
        customer_id="C100",
        opened=date(2025, 6, 15),
        apr=D("0.2499"),
        principal_balance=D("2650.00"),
        interest_accrued_through=date(2026, 1, 15),
        installments=(
            InstallmentFact(date(2026, 1, 15), D("150.00"), D("150.00")),
            InstallmentFact(date(2026, 2, 15), D("150.00"), D("0")),
            InstallmentFact(date(2026, 3, 15), D("150.00"), D("0")),
            InstallmentFact(date(2026, 4, 15), D("150.00"), D("0")),
        ),
        fees=(FeeFact(date(2026, 2, 26), "late_fee", D("15.00")),),
    )
    values.update(overrides)
    return LoanFacts(**values)


TODAY = date(2026, 3, 10)


def test_public_scenario_figures() -> None:
    loan = maria()
    assert past_due_amount(loan, TODAY) == D("165.00")
    assert days_past_due(loan, TODAY) == 23
    nxt = next_installment(loan, TODAY)
    assert nxt is not None and (nxt.due, nxt.remaining) == (date(2026, 3, 15), D("150.00"))


def test_payoff_is_principal_plus_daily_simple_interest_plus_fees() -> None:
    # 2650.00 * 0.2499 * 54 / 365 = 97.9745... -> 97.97
    loan = maria()
    assert accrued_interest(loan, TODAY) == D("97.97")
    assert payoff_amount(loan, TODAY) == D("2762.97")


def test_interest_over_a_leap_day_counts_every_calendar_day() -> None:
    loan = maria(
        interest_accrued_through=date(2028, 2, 28),
        principal_balance=D("3650.00"),
        apr=D("0.10"),
        fees=(),
    )
    # 2 days (Feb 29 and Mar 1): 3650 * 0.10 * 2 / 365 = 2.00
    assert accrued_interest(loan, date(2028, 3, 1)) == D("2.00")


def test_interest_rounds_half_up_to_the_cent() -> None:
    loan = maria(
        principal_balance=D("73.00"),
        apr=D("0.25"),
        interest_accrued_through=date(2026, 3, 9),
        fees=(),
    )
    # 73 * 0.25 / 365 = 0.05 exactly; with 1 day -> 0.05
    assert accrued_interest(loan, TODAY) == D("0.05")
    assert to_money(D("0.125")) == D("0.13")
    assert to_money(D("2.675")) == D("2.68")


def test_no_interest_before_the_paid_up_date() -> None:
    loan = maria(interest_accrued_through=date(2026, 4, 1))
    assert accrued_interest(loan, TODAY) == D("0.00")


def test_partial_payment_counts_what_is_left() -> None:
    installments = (
        InstallmentFact(date(2026, 2, 15), D("150.00"), D("100.00")),
        InstallmentFact(date(2026, 3, 15), D("150.00"), D("20.00")),
    )
    loan = maria(installments=installments, fees=())
    assert past_due_amount(loan, TODAY) == D("50.00")
    nxt = next_installment(loan, TODAY)
    assert nxt is not None and nxt.remaining == D("130.00")


def test_waived_fees_are_not_owed() -> None:
    loan = maria(fees=(FeeFact(date(2026, 2, 26), "late_fee", D("15.00"), waived=True),))
    assert unpaid_fees(loan) == D("0.00")
    assert past_due_amount(loan, TODAY) == D("150.00")
    assert payoff_amount(loan, TODAY) == D("2747.97")


def test_installment_due_today_is_not_past_due() -> None:
    loan = maria(fees=())
    assert days_past_due(loan, date(2026, 2, 15)) == 0
    assert past_due_amount(loan, date(2026, 2, 15)) == D("0.00")
    assert days_past_due(loan, date(2026, 2, 16)) == 1


def test_days_past_due_counts_from_the_oldest_unpaid_due_date() -> None:
    loan = maria(fees=())
    assert days_past_due(loan, date(2026, 3, 20)) == 33
    assert past_due_amount(loan, date(2026, 3, 20)) == D("300.00")


def test_late_fee_after_the_grace_period_once_per_installment(policy) -> None:
    loan = maria(fees=())
    assert late_fees_to_assess(loan, date(2026, 2, 25), policy.fees, set()) == []
    fees = late_fees_to_assess(loan, date(2026, 2, 26), policy.fees, set())
    assert [(f.installment_due, f.assessed_on, f.amount) for f in fees] == [
        (date(2026, 2, 15), date(2026, 2, 26), D("15.00"))
    ]
    assert late_fees_to_assess(loan, date(2026, 2, 26), policy.fees, {date(2026, 2, 15)}) == []


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 3, 10), -12, date(2025, 3, 10)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_twelve_month_window_excludes_its_first_day() -> None:
    assert within_months(date(2025, 3, 11), date(2026, 3, 10), 12)
    assert not within_months(date(2025, 3, 10), date(2026, 3, 10), 12)
    assert not within_months(date(2026, 3, 11), date(2026, 3, 10), 12)


def test_formatting_follows_the_policy() -> None:
    assert format_money(D("1234.5")) == "$1,234.50"
    assert format_money(D("0")) == "$0.00"
    assert format_date(date(2026, 3, 13)) == "March 13, 2026"
    assert [ordinal(n) for n in (1, 2, 3, 11, 12, 13, 21, 28)] == [
        "1st",
        "2nd",
        "3rd",
        "11th",
        "12th",
        "13th",
        "21st",
        "28th",
    ]
