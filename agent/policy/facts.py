"""Plain, immutable facts about a loan, as the rules and calculations see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class InstallmentFact:
    due: date
    amount: Decimal
    paid: Decimal = Decimal("0.00")

    @property
    def remaining(self) -> Decimal:
        return max(self.amount - self.paid, Decimal("0.00"))


@dataclass(frozen=True)
class FeeFact:
    date: date
    kind: str
    amount: Decimal
    waived: bool = False
    id: int | None = None

    @property
    def unpaid(self) -> Decimal:
        return Decimal("0.00") if self.waived else self.amount


@dataclass(frozen=True)
class PromiseFact:
    amount: Decimal
    date: date


@dataclass(frozen=True)
class LoanFacts:
    loan_id: str
    customer_id: str
    opened: date
    apr: Decimal
    principal_balance: Decimal
    interest_accrued_through: date
    installments: tuple[InstallmentFact, ...] = ()
    fees: tuple[FeeFact, ...] = ()
    deferral_dates: tuple[date, ...] = ()
    due_date_change_dates: tuple[date, ...] = ()
    fee_waiver_dates: tuple[date, ...] = ()
    open_promise: PromiseFact | None = None
    payments: tuple[tuple[date, Decimal], ...] = field(default=())
