"""Turn workers (issue #12): the offline engine's turns taken in worker processes on the
same SQLite file, announced by the server process; a lost worker is replaced and its
customer told to send again; writers of several processes queue instead of failing."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlmodel import Session, select

from agent.audit.log import verify_chain
from agent.conversation.events import conversation_channel
from agent.conversation.models import ConversationEvent, Message
from agent.conversation.results import ConversationError
from agent.db.engine import create_db_engine, create_schema
from agent.db.write_gate import begin_write
from agent.ledger.loader import parse_ledger, write_ledger
from agent.runtime import build_service
from agent.settings import Settings
from agent.turn_workers import TurnWorkers, TurnWorkersUnavailable, wanted
from tests.tools.conftest import BOOK


@pytest.fixture(scope="module")
def worker_setup(engines, test_settings: Settings, tmp_path_factory):
    """A SQLite file with the book, and one turn worker on it (it loads the engines once;
    the knowledge base is the one the ``engines`` fixture ingested)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('workers') / 'workers.db'}"
    db = create_db_engine(url)
    create_schema(db)
    with Session(db) as session:
        write_ledger(session, parse_ledger(yaml.safe_load(BOOK), "book"))
        session.commit()
    settings = test_settings.model_copy(update={"database_url": url})
    workers = TurnWorkers(settings, 1, turn_timeout=60)
    workers.start()
    service = build_service(engines, db)
    service.turn_runner = workers
    yield service, workers, db
    workers.close()
    db.dispose()


def _stored(db, conversation_id: str) -> list[tuple[str, str]]:
    with Session(db) as session:
        rows = session.exec(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        ).all()
        return [(m.role, m.content) for m in rows]


def test_a_worker_takes_the_turn_and_the_server_announces_it(worker_setup) -> None:
    service, workers, db = worker_setup
    conv = service.start(customer_id="C100", verified=True)
    events: list[dict] = []

    async def listen_while_talking() -> None:
        async with service.broker.subscribe(conversation_channel(conv.id)) as stream:
            turn = asyncio.get_running_loop().run_in_executor(
                None, service.customer_message, conv.id, "what's my current balance", "m1"
            )
            outcome = await turn
            while len(events) < 2:
                events.append(await asyncio.wait_for(anext(stream), 10))
            assert outcome.replies

    asyncio.run(listen_while_talking())
    # The worker answered from the ledger (C100 owes 2,650.00 of principal) ...
    stored = _stored(db, conv.id)
    assert stored[0] == ("customer", "what's my current balance")
    assert stored[1][0] == "assistant" and "2,650.00" in stored[1][1]
    # ... and the server process announced what the worker stored.
    assert [e["message"]["role"] for e in events] == ["customer", "assistant"]
    assert events[1]["message"]["content"] == stored[1][1]
    # Not answered in this process: the worker process is another one.
    assert workers.pids and os.getpid() not in workers.pids
    with Session(db) as session:
        assert verify_chain(session).ok


def test_a_resent_message_is_stored_once_and_refusals_keep_their_code(worker_setup) -> None:
    service, _, db = worker_setup
    conv = service.start(customer_id="C100", verified=True)
    first = service.customer_message(conv.id, "how can I make a payment?", "same-id")
    again = service.customer_message(conv.id, "how can I make a payment?", "same-id")
    assert again.duplicate and again.reply_text == first.reply_text
    assert [role for role, _ in _stored(db, conv.id)] == ["customer", "assistant"]
    with pytest.raises(ConversationError) as refused:
        service.customer_message(conv.id, "   ")
    assert refused.value.code == "empty_message"
    with pytest.raises(ConversationError) as unknown:
        service.customer_message("no-such-conversation", "hello")
    assert unknown.value.code == "unknown_conversation"


def test_conversations_start_in_a_worker_and_the_server_process_writes_nothing(
    worker_setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server process's threads wait for the GIL behind its event loop: a write gate
    held there made every turn worker wait (README, "Load"), so it writes nothing."""
    service, _workers, db = worker_setup

    def no_writes_here(*_args, **_kwargs):
        raise AssertionError("the server process wrote")

    monkeypatch.setattr(service.tx, "commit", no_writes_here)
    conv = service.start(customer_id="C100", verified=True)
    assert conv.customer_id == "C100" and conv.verified and conv.state == "ai"
    with Session(db) as session:
        kinds = session.exec(
            select(ConversationEvent.kind).where(ConversationEvent.conversation_id == conv.id)
        ).all()
    assert list(kinds) == ["started"]
    with pytest.raises(ConversationError) as refused:
        service.start(customer_id="C999", verified=True)
    assert refused.value.code == "unknown_customer"


def test_a_killed_worker_is_replaced_and_its_customer_told_to_send_again(worker_setup) -> None:
    service, workers, db = worker_setup
    conv = service.start(customer_id="C100", verified=True)
    (lost,) = workers.pids
    os.kill(lost, signal.SIGKILL)
    with pytest.raises(ConversationError) as refused:
        service.customer_message(conv.id, "when is my next payment due", "after-kill")
    assert refused.value.code == "try_again"
    # The widget resends the same message: once a replacement has loaded, it is answered.
    deadline = time.monotonic() + 240
    while True:
        try:
            outcome = service.customer_message(conv.id, "when is my next payment due", "after-kill")
            break
        except ConversationError as exc:
            assert exc.code == "try_again" and time.monotonic() < deadline
    assert outcome.replies and workers.pids and lost not in workers.pids
    assert [role for role, _ in _stored(db, conv.id)] == ["customer", "assistant"]


def test_workers_that_cannot_load_stop_the_start_with_the_reason(
    test_settings: Settings, tmp_path: Path
) -> None:
    settings = test_settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'x.db'}",
            "policy_file": tmp_path / "missing-policy.yaml",
        }
    )
    workers = TurnWorkers(settings, 1, ready_timeout=120)
    with pytest.raises(TurnWorkersUnavailable, match=r"missing-policy\.yaml"):
        workers.start()
    assert workers.pids == []


# --- one writer at a time across processes ----------------------------------------------------


def _hold_the_write_gate(url: str, holding, release) -> None:
    """Another process: start a write transaction and keep it until told to commit."""
    db = create_db_engine(url)
    with Session(db) as session:
        begin_write(session)
        session.exec(text("INSERT INTO probe (who) VALUES ('other process')"))
        holding.set()
        release.wait(60)
        session.commit()
    db.dispose()


def test_a_writer_in_another_process_makes_this_one_wait_not_fail(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    db = create_db_engine(url)
    with db.begin() as connection:
        connection.execute(text("CREATE TABLE probe (n INTEGER PRIMARY KEY, who TEXT)"))
    mp = multiprocessing.get_context("spawn")
    holding, release = mp.Event(), mp.Event()
    other = mp.Process(target=_hold_the_write_gate, args=(url, holding, release))
    other.start()
    try:
        assert holding.wait(120)
        # SQLite's own wait for its lock is short here: without the gate across processes
        # this write would fail with "database is locked" while the other one holds.
        with Session(db) as session:
            session.connection().exec_driver_sql("PRAGMA busy_timeout=50")
            release_later = mp.Process(target=_release_after, args=(release, 1.0))
            release_later.start()
            session.exec(text("INSERT INTO probe (who) VALUES ('this process')"))
            session.commit()
            release_later.join(10)
    finally:
        release.set()
        other.join(30)
    with sqlite3.connect(tmp_path / "gate.db") as raw:
        order = [who for (who,) in raw.execute("SELECT who FROM probe ORDER BY n")]
    assert order == ["other process", "this process"]
    db.dispose()


def _release_after(release, seconds: float) -> None:
    time.sleep(seconds)
    release.set()


def test_which_servers_run_their_turns_in_workers(test_settings: Settings, tmp_path: Path) -> None:
    on_file = test_settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'x.db'}", "turn_workers": 2}
    )
    assert wanted(on_file, uses_llm=False)
    # An LLM's turn waits on the network: threads of the server process serve it.
    assert not wanted(on_file, uses_llm=True)
    assert not wanted(on_file.model_copy(update={"turn_workers": 0}), uses_llm=False)
    # Workers cannot share an in-memory database.
    in_memory = on_file.model_copy(update={"database_url": "sqlite://"})
    assert not wanted(in_memory, uses_llm=False)
