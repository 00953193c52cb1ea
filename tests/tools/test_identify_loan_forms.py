"""The anonymous identify step finds a loan however the customer types its number
("HB 3307", "hb3307", "HB-3307", "loan hb 3307"), and another customer's loan is still
answered like an unknown one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlmodel import Session

from agent.engine.offline.understanding import identity_slots
from agent.ledger.loader import parse_ledger, write_ledger
from agent.tools import ledger_tools as lt
from agent.tools.context import ConversationContext

BOOK = """
customers:
  - {id: C300, name: Dana Brooks, date_of_birth: 1979-08-27, postal_code: "48104",
     phone: "+1-734-555-0191"}
  - {id: C400, name: Lee Park, date_of_birth: 1985-01-05, postal_code: "10001"}
loans:
  - id: HB-3307
    customer_id: C300
    opened: 2025-06-15
    apr: 0.2499
    principal_balance: 2650.00
    interest_accrued_through: 2026-01-15
    installments:
      - {due: 2026-02-15, amount: 150.00, paid: 0}
  - id: QZ9100
    customer_id: C400
    opened: 2024-01-10
    apr: 0.1899
    principal_balance: 7300.00
    interest_accrued_through: 2026-02-10
    installments:
      - {due: 2026-03-10, amount: 310.00, paid: 0}
"""
NOW = datetime(2026, 3, 10, 14, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def session(sqlite_engine) -> Iterator[Session]:
    with Session(sqlite_engine) as session:
        write_ledger(session, parse_ledger(yaml.safe_load(BOOK), "book"))
        session.commit()
        yield session


def _anonymous(session: Session, policy) -> ConversationContext:
    ctx = ConversationContext(
        conversation_id="conv-1",
        session=session,
        policy=policy,
        now=NOW,
        customer_id=None,
        verified=False,
        turn=1,
    )
    ctx.audit = lambda kind, payload: None
    return ctx


def _call(fn, ctx, *args) -> dict:
    return json.loads(fn(ctx, *args))


@pytest.mark.parametrize(
    "text",
    ["loan # HB 3307", "HB 3307", "hb3307", "HB-3307", "loan hb 3307", "my loan number is hb 3307"],
)
def test_loan_number_in_any_form_identifies_the_customer(session, policy, text: str) -> None:
    loan_number = identity_slots(text, NOW.date())["loan_number"]
    assert loan_number is not None
    ctx = _anonymous(session, policy)
    _call(lt.identify_customer, ctx, loan_number)
    assert _call(lt.verify_identity, ctx, "1979-08-27", "48104")["verified"] is True
    assert ctx.customer_id == "C300"


def test_another_customers_loan_is_refused_like_an_unknown_one(session, policy) -> None:
    other, unknown = _anonymous(session, policy), _anonymous(session, policy)
    # QZ9100 is Lee's loan; the caller gives Dana's date of birth and ZIP.
    assert _call(lt.identify_customer, other, "QZ-9100") == _call(
        lt.identify_customer, unknown, "ZZ-0001"
    )
    assert _call(lt.verify_identity, other, "1979-08-27", "48104") == _call(
        lt.verify_identity, unknown, "1979-08-27", "48104"
    )
    assert not other.verified and other.customer_id is None


def test_phone_and_words_birth_date_identify_the_customer(session, policy) -> None:
    first = identity_slots("phone on the account is 734 5550191", NOW.date())
    second = identity_slots("I was born in 1979, on August 27th. zip code 48104", NOW.date())
    assert first["phone"] == "7345550191" and first["loan_number"] is None
    assert (second["dob"], second["zip"]) == ("1979-08-27", "48104")
    ctx = _anonymous(session, policy)
    _call(lt.identify_customer, ctx, None, first["phone"])
    assert _call(lt.verify_identity, ctx, second["dob"], second["zip"])["verified"] is True


def test_birth_date_with_a_month_abbreviation_is_not_a_loan_number() -> None:
    found = identity_slots("dob: 27-Aug-1979  zip: 48104-2210", NOW.date())
    assert found == {"dob": "1979-08-27", "zip": "48104", "loan_number": None, "phone": None}


@pytest.mark.parametrize(
    "text", ["I can pay in 2026, on March 20th", "I'll pay on 20-Mar-2026", "zip 48104"]
)
def test_no_birth_date_from_a_payment_date_or_a_zip(text: str) -> None:
    assert identity_slots(text, NOW.date())["dob"] is None
