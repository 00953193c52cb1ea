"""Ledger figures as pure functions of loan facts and today (POLICY.md section 7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from agent.policy.config import FeesConfig
from agent.policy.facts import InstallmentFact, LoanFacts

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_money(value: Decimal | int | str) -> Decimal:
    """Round half-up to the cent."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def unpaid_fees(loan: LoanFacts) -> Decimal:
    return to_money(sum((f.unpaid for f in loan.fees), ZERO))


def overdue_installments(loan: LoanFacts, today: date) -> list[InstallmentFact]:
    """Installments whose due date has passed and that are not fully paid, oldest first."""
    return sorted(
        (i for i in loan.installments if i.due < today and i.remaining > 0), key=lambda i: i.due
    )


def past_due_amount(loan: LoanFacts, today: date) -> Decimal:
    """Unpaid installment amounts whose due date has passed, plus unpaid fees."""
    overdue = sum((i.remaining for i in overdue_installments(loan, today)), ZERO)
    return to_money(overdue + unpaid_fees(loan))


def days_past_due(loan: LoanFacts, today: date) -> int:
    """Days since the oldest unpaid due date (0 when nothing is overdue)."""
    overdue = overdue_installments(loan, today)
    return (today - overdue[0].due).days if overdue else 0


def next_installment(loan: LoanFacts, today: date) -> InstallmentFact | None:
    """The first installment due today or later that still has something to pay."""
    upcoming = sorted(
        (i for i in loan.installments if i.due >= today and i.remaining > 0), key=lambda i: i.due
    )
    return upcoming[0] if upcoming else None


def accrued_interest(loan: LoanFacts, today: date, day_count_basis: int = 365) -> Decimal:
    """Simple daily interest at APR / basis on unpaid principal since it was last paid up."""
    days = max((today - loan.interest_accrued_through).days, 0)
    return to_money(loan.principal_balance * loan.apr * days / Decimal(day_count_basis))


def payoff_amount(loan: LoanFacts, today: date, day_count_basis: int = 365) -> Decimal:
    """Unpaid principal plus interest accrued to today plus unpaid fees."""
    return to_money(
        loan.principal_balance + accrued_interest(loan, today, day_count_basis) + unpaid_fees(loan)
    )


@dataclass(frozen=True)
class LateFeeAssessment:
    installment_due: date
    assessed_on: date
    amount: Decimal


def late_fees_to_assess(
    loan: LoanFacts, today: date, fees: FeesConfig, already_assessed_for: set[date]
) -> list[LateFeeAssessment]:
    """Late fees owed and not yet charged: one per installment unpaid past the grace period.

    ``already_assessed_for`` holds the due dates of installments that already carry a
    late fee (a fee is charged once per installment).
    """
    result = []
    for inst in sorted(loan.installments, key=lambda i: i.due):
        first_late_day = inst.due + timedelta(days=fees.grace_period_days + 1)
        if inst.remaining > 0 and today >= first_late_day and inst.due not in already_assessed_for:
            result.append(LateFeeAssessment(inst.due, first_late_day, to_money(fees.late_fee)))
    return result
