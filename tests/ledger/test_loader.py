"""The one ledger loader: exact amounts, errors that name file and field, nothing half-written."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from agent.ledger.loader import LedgerLoadError, load_ledger_file, parse_ledger, write_ledger
from agent.ledger.models import Customer, Deferral, Fee, Installment, Loan

GOOD = {
    "customers": [
        {"id": "C1", "name": "Ana Diaz", "date_of_birth": "1990-05-01", "postal_code": "10001"}
    ],
    "loans": [
        {
            "id": "L1",
            "customer_id": "C1",
            "opened": "2025-01-10",
            "apr": 0.1999,
            "principal_balance": 2650.10,
            "interest_accrued_through": "2026-01-10",
            "installments": [
                {"due": "2026-02-10", "amount": 150.35, "paid": 0.1},
                {"due": "2026-03-10", "amount": 150.35},
            ],
            "fees": [{"date": "2026-02-21", "kind": "late_fee", "amount": 15}],
            "history": [{"date": "2025-09-01", "kind": "deferral"}],
        }
    ],
}


def write_yaml(tmp_path: Path, data: object, name: str = "book.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"ledger": data}))
    return path


def test_yaml_numbers_become_exact_cents(tmp_path: Path, db_engine) -> None:
    ledger = load_ledger_file(write_yaml(tmp_path, GOOD))
    with Session(db_engine) as session:
        write_ledger(session, ledger)
        session.commit()
        loan = session.get(Loan, "L1")
        assert loan is not None
        assert loan.principal_balance == Decimal("2650.10")
        assert loan.apr == Decimal("0.1999")
        installments = session.exec(select(Installment).order_by(Installment.due)).all()
        assert [(i.amount, i.paid) for i in installments] == [
            (Decimal("150.35"), Decimal("0.10")),
            (Decimal("150.35"), Decimal("0.00")),
        ]
        assert session.exec(select(Fee)).one().amount == Decimal("15.00")
        assert session.exec(select(Deferral)).one().date == date(2025, 9, 1)


def bad(mutate) -> dict:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (
            lambda d: d["customers"][0].pop("date_of_birth"),
            "ledger.customers[0].date_of_birth",
            "required",
        ),
        (
            lambda d: d["loans"][0]["installments"][0].update(amount=-5),
            "ledger.loans[0].installments[0].amount",
            "negative",
        ),
        (
            lambda d: d["loans"][0].update(customer_id="C999"),
            "ledger.loans[0].customer_id",
            "unknown customer",
        ),
        (
            lambda d: d["loans"][0].update(opened="2025-13-40"),
            "ledger.loans[0].opened",
            "not a date",
        ),
        (
            lambda d: d["loans"][0]["fees"][0].update(colour="red"),
            "ledger.loans[0].fees[0].colour",
            "unknown field",
        ),
        (
            lambda d: d["customers"][0].update(postal_code="7330"),
            "ledger.customers[0].postal_code",
            "5 digits",
        ),
        (
            lambda d: d["loans"][0]["installments"][0].update(paid=500),
            "ledger.loans[0].installments[0]",
            "more than the installment",
        ),
        (
            lambda d: d["loans"][0].update(principal_balance="12.345"),
            "ledger.loans[0].principal_balance",
            "two decimal",
        ),
        (
            lambda d: d["customers"].append(dict(d["customers"][0])),
            "ledger.customers[1].id",
            "duplicate",
        ),
    ],
)
def test_bad_input_names_file_and_field(tmp_path: Path, mutate, field: str, problem: str) -> None:
    path = write_yaml(tmp_path, bad(mutate))
    with pytest.raises(LedgerLoadError) as error:
        load_ledger_file(path)
    assert str(path) in str(error.value)
    assert f"'{field}'" in str(error.value)
    assert problem in str(error.value)


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(LedgerLoadError, match=r"binary\.yaml"):
        load_ledger_file(binary)
    broken = tmp_path / "broken.yaml"
    broken.write_text("ledger: [unclosed")
    with pytest.raises(LedgerLoadError, match="not valid YAML"):
        load_ledger_file(broken)
    with pytest.raises(LedgerLoadError, match="not found"):
        load_ledger_file(tmp_path / "nope.yaml")


def test_seeding_twice_writes_once(sqlite_engine) -> None:
    ledger = parse_ledger(GOOD, "inline")
    with Session(sqlite_engine) as session:
        assert write_ledger(session, ledger, skip_existing=True) == 1
        session.commit()
    with Session(sqlite_engine) as session:
        assert write_ledger(session, ledger, skip_existing=True) == 0
        session.commit()
        assert len(session.exec(select(Customer)).all()) == 1
        assert len(session.exec(select(Installment)).all()) == 2


def test_a_payment_link_pays_once(db_engine) -> None:
    from datetime import UTC, datetime

    from agent.ledger.models import PaymentLink
    from agent.ledger.repository import apply_payment, create_payment_link

    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    with Session(db_engine) as session:
        write_ledger(session, parse_ledger(GOOD, "inline"))
        link = create_payment_link(session, "L1", Decimal("30.00"), now, 24, "http://x/pay", None)
        session.commit()
        apply_payment(session, link, now.date(), now)
        session.commit()
        fee = session.exec(select(Fee)).one()
        assert fee.paid_on == now.date()
        first = session.exec(select(Installment).order_by(Installment.due)).first()
        assert first.paid == Decimal("15.10")  # 0.10 already paid, then 30.00 - 15.00 fee
        with pytest.raises(ValueError, match="already used"):
            apply_payment(session, session.get(PaymentLink, link.id), now.date(), now)
