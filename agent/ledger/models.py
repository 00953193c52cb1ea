"""Ledger tables. Money is ``Decimal`` with cents; dates are dates; timestamps are UTC-aware.

Base/Public classes follow the full-stack-fastapi-template habit: the table class
adds keys and relations to a plain base model that the API can expose.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from agent.db.types import Money, Rate, UTCDateTime, utcnow


def money_field(**kwargs) -> Decimal:
    return Field(sa_column=Column(Money(), nullable=False), **kwargs)


def timestamp_field(nullable: bool = False, **kwargs) -> datetime:
    if nullable:
        return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True), **kwargs)
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False), **kwargs)


# --- customers and loans ---------------------------------------------------------------


class CustomerBase(SQLModel):
    name: str
    date_of_birth: date
    postal_code: str
    phone: str | None = None
    email: str | None = None
    timezone: str = "America/New_York"
    language: str = "en"


class Customer(CustomerBase, table=True):
    id: str = Field(primary_key=True)


class CustomerPublic(SQLModel):
    """What staff screens show (no date of birth)."""

    id: str
    name: str
    postal_code: str
    phone: str | None = None
    email: str | None = None
    timezone: str
    language: str


class Loan(SQLModel, table=True):
    id: str = Field(primary_key=True)
    customer_id: str = Field(foreign_key="customer.id", index=True)
    opened: date
    apr: Decimal = Field(sa_column=Column(Rate(), nullable=False))
    principal_balance: Decimal = money_field()
    interest_accrued_through: date
    status: str = "active"


class Installment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    loan_id: str = Field(foreign_key="loan.id", index=True)
    due: date
    amount: Decimal = money_field()
    paid: Decimal = money_field(default=Decimal("0.00"))
    deferred_from: date | None = None


class Fee(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    loan_id: str = Field(foreign_key="loan.id", index=True)
    date: date
    kind: str = "late_fee"
    amount: Decimal = money_field()
    waived: bool = False
    paid_on: date | None = None


class Payment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    loan_id: str = Field(foreign_key="loan.id", index=True)
    amount: Decimal = money_field()
    received_on: date
    method: str = "payment_link"
    payment_link_id: str | None = Field(default=None, foreign_key="paymentlink.id")
    created_at: datetime = timestamp_field()


# --- servicing records the assistant creates (and history loaded with the book) -----------


class PromiseToPay(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    loan_id: str = Field(foreign_key="loan.id", index=True)
    amount: Decimal = money_field()
    date: date
    status: str = "open"  # open | replaced | kept | broken
    conversation_id: str | None = Field(default=None, index=True)
    created_at: datetime = timestamp_field()


class PaymentLink(SQLModel, table=True):
    id: str = Field(primary_key=True)  # the one-time token in the URL
    loan_id: str = Field(foreign_key="loan.id", index=True)
    amount: Decimal = money_field()
    url: str
    expires_at: datetime = timestamp_field()
    used_at: datetime | None = timestamp_field(nullable=True)
    conversation_id: str | None = Field(default=None, index=True)
    created_at: datetime = timestamp_field()


class DueDateChange(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    loan_id: str = Field(foreign_key="loan.id", index=True)
    date: date
    day_of_month: int | None = None
    previous_day_of_month: int | None = None
    conversation_id: str | None = Field(default=None, index=True)
    created_at: datetime = timestamp_field()


class Deferral(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    loan_id: str = Field(foreign_key="loan.id", index=True)
    date: date
    installment_due: date | None = None
    moved_to: date | None = None
    conversation_id: str | None = Field(default=None, index=True)
    created_at: datetime = timestamp_field()


class FeeWaiver(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    loan_id: str = Field(foreign_key="loan.id", index=True)
    date: date
    fee_id: int | None = Field(default=None, foreign_key="fee.id")
    amount: Decimal | None = Field(default=None, sa_column=Column(Money(), nullable=True))
    conversation_id: str | None = Field(default=None, index=True)
    created_at: datetime = timestamp_field()


class ContactPreference(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("customer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id", index=True)
    sms: bool = True
    email: bool = True
    calls: bool = True
    do_not_contact: bool = False
    contact_hours: str | None = None
    conversation_id: str | None = Field(default=None, index=True)
    updated_at: datetime = timestamp_field()


# Record types of the scenario format (SCENARIOS.md) → the table that holds them and
# the tables such a write may legitimately touch beside it.
RECORD_TABLES: dict[str, tuple[type[SQLModel], tuple[str, ...]]] = {
    "promises_to_pay": (PromiseToPay, ("promisetopay",)),
    "payment_links": (PaymentLink, ("paymentlink",)),
    "due_date_changes": (DueDateChange, ("duedatechange", "installment")),
    "deferrals": (Deferral, ("deferral", "installment")),
    "fee_waivers": (FeeWaiver, ("feewaiver", "fee")),
    "contact_preferences": (ContactPreference, ("contactpreference",)),
}

LEDGER_TABLES: tuple[type[SQLModel], ...] = (
    Customer,
    Loan,
    Installment,
    Fee,
    Payment,
    PromiseToPay,
    PaymentLink,
    DueDateChange,
    Deferral,
    FeeWaiver,
    ContactPreference,
)
