from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlmodel import Session

from agent.ledger.loader import parse_ledger, write_ledger
from agent.tools.context import ConversationContext

BOOK = """
customers:
  - {id: C100, name: Maria Lopez, date_of_birth: 1988-04-12, postal_code: "73301",
     phone: "+1-555-0100", timezone: America/Chicago}
  - {id: C200, name: James Chen, date_of_birth: 1975-11-02, postal_code: "10001"}
loans:
  - id: L100
    customer_id: C100
    opened: 2025-06-15
    apr: 0.2499
    principal_balance: 2650.00
    interest_accrued_through: 2026-01-15
    installments:
      - {due: 2026-01-15, amount: 150.00, paid: 150.00}
      - {due: 2026-02-15, amount: 150.00, paid: 0}
      - {due: 2026-03-15, amount: 150.00, paid: 0}
      - {due: 2026-04-15, amount: 150.00, paid: 0}
    fees:
      - {date: 2026-02-26, kind: late_fee, amount: 15.00}
  - id: L200
    customer_id: C200
    opened: 2024-01-10
    apr: 0.1899
    principal_balance: 7300.00
    interest_accrued_through: 2026-02-10
    installments:
      - {due: 2026-02-10, amount: 310.00, paid: 310.00}
      - {due: 2026-03-10, amount: 310.00, paid: 0}
"""
NOW = datetime(2026, 3, 10, 14, 0, tzinfo=ZoneInfo("America/Chicago"))


@pytest.fixture
def book_session(db_engine) -> Iterator[Session]:
    with Session(db_engine) as session:
        write_ledger(session, parse_ledger(yaml.safe_load(BOOK), "book"))
        session.commit()
        yield session


@pytest.fixture
def make_ctx(book_session: Session, policy):
    events: list[tuple[str, dict]] = []

    def make(**overrides) -> ConversationContext:
        values = dict(
            conversation_id="conv-1",
            session=book_session,
            policy=policy,
            now=NOW,
            customer_id="C100",
            verified=True,
            turn=1,
        )
        values.update(overrides)
        ctx = ConversationContext(**values)
        ctx.audit = lambda kind, payload: events.append((kind, payload))
        return ctx

    make.events = events
    return make
