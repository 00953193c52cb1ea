"""A conversation survives a server restart: transcript in the database, agent state in the
LangGraph checkpointer on the same database."""

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlmodel import Session, select

from agent.db.engine import create_db_engine, create_schema
from agent.engine.agent import ServicingAgent
from agent.engine.checkpoint import make_checkpointer
from agent.ledger.loader import parse_ledger, write_ledger
from agent.ledger.models import PromiseToPay
from agent.runtime import build_service
from tests.tools.conftest import BOOK

NOW = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)


def _server(engines, url: str):
    """What a fresh server process builds: a new agent on a new checkpointer connection."""
    agent = ServicingAgent(
        engines.settings, engines.policy, engines.embedder, make_checkpointer(url)
    )
    return build_service(replace(engines, agent=agent), create_db_engine(url), clock=lambda: NOW)


def test_a_half_finished_promise_continues_after_a_restart(engines, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    db = create_db_engine(url)
    create_schema(db)
    with Session(db) as session:
        write_ledger(session, parse_ledger(yaml.safe_load(BOOK), "book"))
        session.commit()
    before = _server(engines, url)
    conv = before.start(customer_id="C100", verified=True)
    asked = before.customer_message(conv.id, "I'd like to make a promise to pay the past due")
    assert "what date" in asked.reply_text.lower()

    after = _server(engines, url)  # the old process is gone
    proposal = after.customer_message(conv.id, "this Friday").reply_text
    assert "$165.00" in proposal and "March 13, 2026" in proposal
    after.customer_message(conv.id, "yes")
    with Session(db) as session:
        promise = session.exec(select(PromiseToPay)).one()
    assert (str(promise.amount), promise.date.isoformat()) == ("165.00", "2026-03-13")
    assert [m.role for m in after.transcript(conv.id)] == ["customer", "assistant"] * 3
