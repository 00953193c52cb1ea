"""The one loader of the scenario format's ``ledger:`` block (SCENARIOS.md).

Used by ``loan-agent seed`` and by ``loan-agent eval``. Validation happens entirely
before anything is written, and the write is a single transaction: bad input names
the file and the field and leaves the database as it was.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlmodel import Session

from agent.ledger.models import (
    Customer,
    Deferral,
    DueDateChange,
    Fee,
    FeeWaiver,
    Installment,
    Loan,
)


class LedgerLoadError(ValueError):
    """Bad ledger input: the message names the file and the field."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source, self.field, self.problem = source, field, problem
        super().__init__(f"{source}: field '{field}': {problem}")


def _exact_decimal(value: Any) -> Any:
    """YAML numbers arrive as floats: go through their shortest text, never float math."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, float | int):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip().replace(",", "").lstrip("$"))
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
    return value


def _strict_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from exc
    raise ValueError(f"not a date (YYYY-MM-DD): {value!r}")


def _cents(value: Decimal) -> Decimal:
    if value.is_nan() or value.is_infinite():
        raise ValueError("not a finite amount")
    if value < 0:
        raise ValueError("must not be negative")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("has more than two decimal places")
    return value.quantize(Decimal("0.01"))


Amount = Annotated[Decimal, BeforeValidator(_exact_decimal)]
Day = Annotated[date, BeforeValidator(_strict_date)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerIn(_Input):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    date_of_birth: Day
    postal_code: str
    phone: str | None = None
    email: str | None = None
    timezone: str = "America/New_York"
    language: str = "en"

    @field_validator("postal_code", mode="before")
    @classmethod
    def _postal_text(cls, value: Any) -> Any:
        return str(value).zfill(5) if isinstance(value, int) else value

    @field_validator("postal_code")
    @classmethod
    def _postal_format(cls, value: str) -> str:
        if not (value.isdigit() and len(value) == 5):
            raise ValueError("must be 5 digits")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class InstallmentIn(_Input):
    due: Day
    amount: Amount
    paid: Amount = Decimal("0")

    _money = field_validator("amount", "paid")(_cents)

    @model_validator(mode="after")
    def _not_overpaid(self) -> InstallmentIn:
        if self.paid > self.amount:
            raise ValueError("paid is more than the installment amount")
        return self


class FeeIn(_Input):
    date: Day
    kind: Literal["late_fee", "returned_payment_fee", "other"] = "late_fee"
    amount: Amount
    waived: bool = False

    _money = field_validator("amount")(_cents)


class HistoryIn(_Input):
    date: Day
    kind: Literal["deferral", "due_date_change", "fee_waiver"]


class LoanIn(_Input):
    id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    opened: Day
    apr: Amount
    principal_balance: Amount
    interest_accrued_through: Day
    installments: list[InstallmentIn] = Field(default_factory=list)
    fees: list[FeeIn] = Field(default_factory=list)
    history: list[HistoryIn] = Field(default_factory=list)

    _money = field_validator("principal_balance")(_cents)

    @field_validator("apr")
    @classmethod
    def _apr_range(cls, value: Decimal) -> Decimal:
        if not Decimal("0") <= value <= Decimal("1"):
            raise ValueError("must be a yearly rate between 0 and 1 (0.2499 for 24.99%)")
        return value


class LedgerIn(_Input):
    customers: list[CustomerIn] = Field(default_factory=list)
    loans: list[LoanIn] = Field(default_factory=list)


def _field_path(prefix: str, loc: tuple[Any, ...]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_ledger(raw: Any, source: str, prefix: str = "ledger") -> LedgerIn:
    """Validate a ``ledger:`` mapping; raise :class:`LedgerLoadError` naming the field."""
    if not isinstance(raw, dict):
        raise LedgerLoadError(source, prefix, "expected a mapping with customers and loans")
    try:
        ledger = LedgerIn.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        raise LedgerLoadError(source, _field_path(prefix, tuple(err["loc"])), msg) from exc
    _check_references(ledger, source, prefix)
    return ledger


def _check_references(ledger: LedgerIn, source: str, prefix: str) -> None:
    seen: set[str] = set()
    for i, customer in enumerate(ledger.customers):
        if customer.id in seen:
            raise LedgerLoadError(source, f"{prefix}.customers[{i}].id", "duplicate id")
        seen.add(customer.id)
    loan_ids: set[str] = set()
    for i, loan in enumerate(ledger.loans):
        if loan.customer_id not in seen:
            raise LedgerLoadError(
                source, f"{prefix}.loans[{i}].customer_id", f"unknown customer {loan.customer_id!r}"
            )
        if loan.id in loan_ids:
            raise LedgerLoadError(source, f"{prefix}.loans[{i}].id", "duplicate id")
        loan_ids.add(loan.id)


def load_ledger_file(path: Path | str) -> LedgerIn:
    """Read a YAML file holding a ``ledger:`` block (or a bare ledger mapping)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LedgerLoadError(str(path), "(file)", "not found") from exc
    except UnicodeDecodeError as exc:
        raise LedgerLoadError(str(path), "(file)", "not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        raise LedgerLoadError(str(path), "(file)", f"not valid YAML: {exc}") from exc
    if isinstance(raw, dict) and "ledger" in raw:
        return parse_ledger(raw["ledger"], str(path))
    return parse_ledger(raw, str(path), prefix="(top)")


def write_ledger(session: Session, ledger: LedgerIn, *, skip_existing: bool = False) -> int:
    """Insert a validated ledger in the caller's transaction; returns customers written.

    With ``skip_existing`` customers (and their loans) already present are left as they
    are, which makes seeding idempotent.
    """
    written = 0
    new_customers = set()
    for c in ledger.customers:
        if skip_existing and session.get(Customer, c.id) is not None:
            continue
        session.add(Customer(**c.model_dump()))
        new_customers.add(c.id)
        written += 1
    session.flush()
    for loan_in in ledger.loans:
        if skip_existing and (
            loan_in.customer_id not in new_customers or session.get(Loan, loan_in.id) is not None
        ):
            continue
        _write_loan(session, loan_in)
    session.flush()
    return written


def _write_loan(session: Session, loan_in: LoanIn) -> None:
    session.add(
        Loan(
            id=loan_in.id,
            customer_id=loan_in.customer_id,
            opened=loan_in.opened,
            apr=loan_in.apr,
            principal_balance=loan_in.principal_balance,
            interest_accrued_through=loan_in.interest_accrued_through,
        )
    )
    session.flush()
    for inst in loan_in.installments:
        session.add(
            Installment(loan_id=loan_in.id, due=inst.due, amount=inst.amount, paid=inst.paid)
        )
    for fee in loan_in.fees:
        session.add(
            Fee(
                loan_id=loan_in.id,
                date=fee.date,
                kind=fee.kind,
                amount=fee.amount,
                waived=fee.waived,
            )
        )
    for event in loan_in.history:
        record: Any = {
            "deferral": Deferral,
            "due_date_change": DueDateChange,
            "fee_waiver": FeeWaiver,
        }[event.kind]
        session.add(record(loan_id=loan_in.id, date=event.date))
