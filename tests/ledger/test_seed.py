"""`loan-agent seed`: the demo book, staff users, and bad files that write nothing."""

from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from agent.conversation.models import StaffUser
from agent.conversation.staff import password_matches
from agent.db.engine import create_db_engine
from agent.ledger.demo_book import demo_ledger
from agent.ledger.loader import parse_ledger
from agent.ledger.models import Customer, Loan
from agent.ledger.repository import loan_facts
from agent.policy.calculations import days_past_due
from agent.seeding import SeedError, seed_database
from agent.settings import Settings


@pytest.fixture
def file_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        demo=True,
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )


def test_demo_book_has_varied_states(policy) -> None:
    today = date(2026, 11, 25)
    ledger = parse_ledger(demo_ledger(today, policy), "demo book")
    assert len(ledger.customers) >= 8
    owners = [loan.customer_id for loan in ledger.loans]
    assert any(owners.count(c) >= 2 for c in owners), "a customer with two loans"
    from sqlmodel import SQLModel  # noqa: F401

    from agent.db.engine import create_schema
    from agent.ledger.loader import write_ledger

    engine = create_db_engine("sqlite://")
    create_schema(engine)
    with Session(engine) as session:
        write_ledger(session, ledger)
        session.commit()
        dpd = {
            loan.id: days_past_due(loan_facts(session, loan), today)
            for loan in session.exec(select(Loan))
        }
    assert dpd["L101"] == 0 and dpd["L100"] == 23 and dpd["L102"] == 4
    assert dpd["L103"] == 45 and dpd["L108"] == 70


def test_seed_is_idempotent_and_hashes_staff_passwords(file_settings: Settings) -> None:
    first = seed_database(file_settings, today=date(2026, 11, 25))
    assert "created with password" in first
    second = seed_database(file_settings, today=date(2026, 11, 25))
    assert "0 new customer" in second
    engine = create_db_engine(file_settings.effective_database_url)
    with Session(engine) as session:
        assert len(session.exec(select(Customer)).all()) == 9
        users = {u.username: u for u in session.exec(select(StaffUser))}
    assert set(users) == {"agent", "supervisor"}
    generated = dict(
        line.split()
        for line in (file_settings.data_dir / "staff_credentials.txt").read_text().splitlines()
    )
    assert users["agent"].password_hash.startswith("$argon2")
    assert password_matches(users["agent"].password_hash, generated["agent"])
    assert generated["agent"] not in users["agent"].password_hash


def test_bad_seed_file_writes_nothing(file_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "ledger": {
                    "customers": [],
                    "loans": [
                        {
                            "id": "L1",
                            "customer_id": "NOPE",
                            "opened": "2025-01-01",
                            "apr": 0.1,
                            "principal_balance": 10,
                            "interest_accrued_through": "2025-01-01",
                        }
                    ],
                }
            }
        )
    )
    with pytest.raises(SeedError, match=r"bad.yaml: field 'ledger.loans\[0\].customer_id'"):
        seed_database(file_settings, ledger_file=path)
    assert not (file_settings.data_dir / "db.sqlite").exists() or _no_customers(file_settings)


def _no_customers(settings: Settings) -> bool:
    engine = create_db_engine(settings.effective_database_url)
    with Session(engine) as session:
        return session.exec(select(Customer)).first() is None
