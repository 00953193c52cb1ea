"""The customer turn's short transactions (issue #12): many turns at once on one SQLite
file without "database is locked", a slow agent run that holds no other conversation
back, and a write phase that fails leaving nothing of the turn behind (transcript,
ledger, model memory) and a customer who is told to send it again."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from agent.audit.log import verify_chain
from agent.conversation.models import Message
from agent.conversation.results import ConversationError
from agent.conversation.turn import CustomerTurns
from agent.db.engine import create_db_engine, create_schema
from agent.ledger.loader import parse_ledger, write_ledger
from agent.ledger.models import PromiseToPay
from agent.runtime import build_service
from tests.conversation.conftest import NOW
from tests.tools.conftest import BOOK

ROUTINE = ["how can I make a payment?", "what are your opening hours?", "thanks!"]


@pytest.fixture
def file_service(tmp_path: Path, engines):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    create_schema(engine)
    with Session(engine) as session:
        write_ledger(session, parse_ledger(yaml.safe_load(BOOK), "book"))
        session.commit()
    yield build_service(engines, engine, clock=lambda: NOW), engine
    engine.dispose()


def _roles(engine, conversation_id: str) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        ).all()
        return [m.role for m in rows]


def _remembered_customer_turns(service, conversation_id: str) -> int:
    """How many customer messages the model's checkpoint holds for the conversation."""
    saved = service.agent.checkpoints.inner.get_tuple(
        {"configurable": {"thread_id": conversation_id}}
    )
    if saved is None:
        return 0
    messages = saved.checkpoint["channel_values"].get("messages", [])
    return sum(1 for m in messages if m.type == "human")


def test_fifty_conversations_at_once_on_one_sqlite_file_all_stored(file_service) -> None:
    service, engine = file_service
    ids = [service.start().id for _ in range(50)]

    def talk(conversation_id: str) -> None:
        for n, text in enumerate(ROUTINE):
            service.customer_message(conversation_id, text, client_message_id=f"m{n}")

    with ThreadPoolExecutor(max_workers=16) as pool:
        for future in [pool.submit(talk, i) for i in ids]:
            future.result()  # no "database is locked", no internal error
    for conversation_id in ids:
        roles = _roles(engine, conversation_id)
        assert roles.count("customer") == 3
        assert roles.count("assistant") >= 3
    with Session(engine) as session:
        assert verify_chain(session).ok


def test_a_slow_agent_run_holds_no_other_conversation_back(file_service, monkeypatch) -> None:
    service, engine = file_service
    slow, quick = service.start().id, service.start().id
    running = threading.Event()
    original = CustomerTurns._run

    def run(self, session, read, *args, **kwargs):
        draft = original(self, session, read, *args, **kwargs)
        if read.conv.id == slow:
            running.set()
            time.sleep(5.0)  # the model thinking, the session open
        return draft

    monkeypatch.setattr(CustomerTurns, "_run", run)
    worker = threading.Thread(target=service.customer_message, args=(slow, "how can I pay?"))
    worker.start()
    assert running.wait(10)
    service.customer_message(quick, "what are your opening hours?")
    # Done while the slow turn is still running: it did not wait behind it.
    assert worker.is_alive(), "the quick turn waited for the slow one"
    worker.join(10)
    assert _roles(engine, slow).count("customer") == 1


def test_a_failed_write_phase_leaves_nothing_of_the_turn(service, db_engine, monkeypatch) -> None:
    conversation = service.start()
    service.customer_message(conversation.id, "hi, what is my balance? loan L100")
    service.customer_message(conversation.id, "my date of birth is 04/12/1988 and zip 73301")
    before = _roles(db_engine, conversation.id)
    remembered = _remembered_customer_turns(service, conversation.id)
    assert remembered == 2

    def broken(self, session, read, draft):
        raise OperationalError("INSERT", {}, Exception("the database went away"))

    monkeypatch.setattr(CustomerTurns, "_write", broken)
    with pytest.raises(ConversationError) as refused:
        service.customer_message(conversation.id, "how can I pay?", client_message_id="x1")
    assert refused.value.code == "try_again"
    assert "send it again" in str(refused.value)
    assert _roles(db_engine, conversation.id) == before
    assert _remembered_customer_turns(service, conversation.id) == remembered

    monkeypatch.undo()
    outcome = service.customer_message(conversation.id, "how can I pay?", client_message_id="x1")
    assert outcome.replies
    assert _roles(db_engine, conversation.id).count("customer") == 3
    assert _remembered_customer_turns(service, conversation.id) == 3


def test_a_failed_write_after_a_ledger_write_rolls_the_ledger_back(
    service, db_engine, monkeypatch
) -> None:
    conversation = service.start(customer_id="C100", verified=True)
    service.customer_message(conversation.id, "I can pay $50 on the 12th")
    with Session(db_engine) as session:
        assert session.exec(select(PromiseToPay)).all() == []

    def broken(self, session, read, draft):
        raise OperationalError("INSERT", {}, Exception("the database went away"))

    monkeypatch.setattr(CustomerTurns, "_write", broken)
    with pytest.raises(ConversationError) as refused:
        service.customer_message(conversation.id, "yes")
    assert refused.value.code == "try_again"
    with Session(db_engine) as session:
        assert session.exec(select(PromiseToPay)).all() == []  # the promise went with it
    monkeypatch.undo()
    service.customer_message(conversation.id, "yes")
    with Session(db_engine) as session:
        assert len(session.exec(select(PromiseToPay)).all()) == 1
