"""The widget's Yes / No buttons over the chat socket (web/PROTOCOL.md, "confirm").

A reply that proposes a change carries the proposal (id and summary); a ``confirm``
frame for that id is the customer's exact answer (the transcript shows what was
clicked); for any other id, or when nothing waits, it is refused as ``stale_proposal``
and nothing is stored or written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from agent.conversation.models import Message
from agent.db.engine import create_db_engine, create_schema
from agent.ledger.loader import parse_ledger, write_ledger
from agent.runtime import Engines
from agent.settings import Settings
from agent.tools.ledger_tools import proposal_id
from tests.confirmation.reply_suite import written
from tests.llm.harness import LEDGER, NOW
from web.app import create_app
from web.auth import mint_customer_token
from web.config import WebLimits

SECRET = "confirm-frame-tests-secret-0123456789abcdef0123"


@pytest.fixture
def db() -> Iterator[Engine]:
    engine = create_db_engine("sqlite://")
    create_schema(engine)
    with Session(engine) as session:
        write_ledger(session, parse_ledger(LEDGER, "tests/llm"))
        session.commit()
    yield engine  # not disposed: see tests/web/conftest.py (in-memory SQLite, threads)


@pytest.fixture
def client(engines: Engines, db: Engine, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        _env_file=None,
        environment="test",
        data_dir=tmp_path,
        database_url="sqlite://",
        secret_key=SECRET,
        redis_url=None,
        llm_provider="offline",
        embedding_provider="local",
    )
    app = create_app(settings, engines, db, limits=WebLimits(), clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client


class Chat:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    def recv(self) -> dict[str, Any]:
        return json.loads(self.ws.receive_text())

    def until(self, done: Any) -> list[dict[str, Any]]:
        frames = []
        for _ in range(50):
            frames.append(self.recv())
            if done(frames[-1]):
                return frames
        raise AssertionError(frames)

    def send(self, frame: dict[str, Any]) -> list[dict[str, Any]]:
        """Frames until the frame's ack or error, then the end of the turn (if any)."""
        self.ws.send_text(json.dumps(frame))
        frames = self.until(lambda f: f["type"] in ("ack", "error") and f.get("id") == frame["id"])
        if frames[-1]["type"] == "ack":
            frames += self.until(lambda f: f["type"] == "typing" and not f["on"])
        return frames


def replies(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f["message"] for f in frames if f["type"] == "message"]


@pytest.fixture
def chat(client: TestClient) -> Iterator[Chat]:
    with client.websocket_connect("/ws/chat") as ws:
        chat = Chat(ws)
        token = mint_customer_token(SECRET, "C100")
        ws.send_text(json.dumps({"type": "hello", "v": 1, "token": token}))
        chat.until(lambda f: f["type"] == "welcome")
        yield chat


def transcript(db: Engine) -> list[tuple[str, str]]:
    with Session(db) as session:
        rows = session.exec(select(Message).order_by(col(Message.seq)))
        return [(m.role, m.content) for m in rows]


def propose(chat: Chat) -> dict[str, Any]:
    """Ask for a due-date change; the reply carries its proposal."""
    frames = chat.send({"type": "message", "id": "m1", "text": "change my due date to the 20th"})
    reply = replies(frames)[-1]
    assert reply["role"] == "assistant"
    return reply["proposal"]


def test_a_reply_that_proposes_a_change_carries_it(chat: Chat, db: Engine) -> None:
    # A reply that proposes nothing carries none.
    frames = chat.send({"type": "message", "id": "m0", "text": "what's my balance?"})
    assert all("proposal" not in m for m in replies(frames))

    proposal = propose(chat)
    assert proposal == {
        "id": proposal_id("due_date_change:L100:20"),
        "summary": "Change the due date of loan L100 to the 20th of each month",
    }
    # A question in between: answered, and the same proposal (same id) still waits.
    frames = chat.send({"type": "message", "id": "m2", "text": "does it cost anything?"})
    assert replies(frames)[-1]["proposal"] == proposal
    assert written(db) == {}


def test_yes_for_the_proposal_waiting_writes_it(chat: Chat, db: Engine) -> None:
    proposal = propose(chat)
    frames = chat.send(
        {"type": "confirm", "id": "c1", "proposal_id": proposal["id"], "answer": "yes"}
    )

    ack = next(f for f in frames if f["type"] == "ack")
    customer, answer = replies(frames)
    assert ack["seq"] == customer["seq"] and customer["client_id"] == "c1"
    assert customer["content"] == "Yes"  # the transcript shows what was clicked
    assert "now due on the 20th" in answer["content"] and "proposal" not in answer
    assert [r["day_of_month"] for r in written(db)["due_date_changes"]] == [20]
    assert transcript(db)[-2] == ("customer", "Yes")


def test_no_writes_nothing_and_withdraws_the_proposal(chat: Chat, db: Engine) -> None:
    proposal = propose(chat)
    frames = chat.send(
        {"type": "confirm", "id": "c1", "proposal_id": proposal["id"], "answer": "no"}
    )
    assert replies(frames)[0]["content"] == "No"
    assert written(db) == {}
    # The buttons of the withdrawn proposal are stale now.
    again = chat.send(
        {"type": "confirm", "id": "c2", "proposal_id": proposal["id"], "answer": "yes"}
    )
    assert again[-1]["type"] == "error" and again[-1]["code"] == "stale_proposal"
    assert written(db) == {}


def test_a_stale_id_is_refused_and_nothing_is_stored(chat: Chat, db: Engine) -> None:
    propose(chat)
    before = transcript(db)
    stale = proposal_id("due_date_change:L100:15")  # other terms than those shown
    frames = chat.send({"type": "confirm", "id": "c1", "proposal_id": stale, "answer": "yes"})

    error = frames[-1]
    assert error["type"] == "error" and error["code"] == "stale_proposal" and error["id"] == "c1"
    assert transcript(db) == before
    assert written(db) == {}


def test_a_confirm_with_no_proposal_waiting_is_refused(chat: Chat, db: Engine) -> None:
    frames = chat.send(
        {
            "type": "confirm",
            "id": "c1",
            "proposal_id": proposal_id("deferral:L100"),
            "answer": "yes",
        }
    )
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "stale_proposal"
    assert transcript(db) == [] and written(db) == {}


def test_buttons_of_terms_no_longer_proposed_are_stale(chat: Chat, db: Engine) -> None:
    proposal = propose(chat)
    frames = chat.send({"type": "message", "id": "m2", "text": "yes but make it the 15th"})
    newer = replies(frames)[-1]["proposal"]
    assert newer["id"] == proposal_id("due_date_change:L100:15") != proposal["id"]

    stale = chat.send(
        {"type": "confirm", "id": "c1", "proposal_id": proposal["id"], "answer": "yes"}
    )
    assert stale[-1]["code"] == "stale_proposal"
    assert written(db) == {}
    chat.send({"type": "confirm", "id": "c2", "proposal_id": newer["id"], "answer": "yes"})
    assert [r["day_of_month"] for r in written(db)["due_date_changes"]] == [15]


def test_a_bad_confirm_frame_is_a_clear_error(chat: Chat, db: Engine) -> None:
    frames = chat.send({"type": "confirm", "id": "c1", "proposal_id": "abc", "answer": "maybe"})
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "bad_frame"
    assert "answer" in frames[-1]["message"]
    assert transcript(db) == []


def test_the_proposal_comes_again_on_resume(client: TestClient, db: Engine) -> None:
    token = mint_customer_token(SECRET, "C100")
    with client.websocket_connect("/ws/chat") as ws:
        chat = Chat(ws)
        ws.send_text(json.dumps({"type": "hello", "v": 1, "token": token}))
        welcome = chat.until(lambda f: f["type"] == "welcome")[-1]
        proposal = propose(chat)
    with client.websocket_connect("/ws/chat") as ws:
        chat = Chat(ws)
        hello = {"type": "hello", "v": 1, "token": token, "resume": welcome["resume"]}
        ws.send_text(json.dumps(hello))
        frames = chat.until(lambda f: f["type"] == "message" and f["message"]["seq"] == 2)
        assert replies(frames)[-1]["proposal"] == proposal
        done = chat.send(
            {"type": "confirm", "id": "c1", "proposal_id": proposal["id"], "answer": "yes"}
        )
    assert any(f["type"] == "ack" for f in done)
    assert [r["day_of_month"] for r in written(db)["due_date_changes"]] == [20]
