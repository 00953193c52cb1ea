from datetime import UTC, datetime

import pytest
import yaml
from sqlmodel import Session

from agent.conversation.models import StaffUser
from agent.conversation.staff import ensure_staff_user
from agent.ledger.loader import parse_ledger, write_ledger
from agent.runtime import build_service
from tests.tools.conftest import BOOK

NOW = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # 14:00 in Chicago


@pytest.fixture
def service(engines, db_engine):
    with Session(db_engine) as session:
        write_ledger(session, parse_ledger(yaml.safe_load(BOOK), "book"))
        ensure_staff_user(session, "alex", "Alex Rivera", "agent", "pw-alex-123")
        ensure_staff_user(session, "blair", "Blair Stone", "agent", "pw-blair-123")
        session.commit()
    return build_service(engines, db_engine, clock=lambda: NOW)


@pytest.fixture
def staff(service, db_engine) -> dict[str, StaffUser]:
    from sqlmodel import select

    with Session(db_engine) as session:
        return {u.username: u for u in session.exec(select(StaffUser))}
