"""Input built to break a turn, on SQLite and PostgreSQL: absurdly nested frames are
refused and the socket lives on; lone surrogates, NUL bytes and other control characters
are cleaned before anything is stored (or refused clearly when nothing is left)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine, select
from web_testkit import PASSWORDS, ChatSocket, add_staff, messages, staff_login

from agent.audit.models import AuditEvent
from agent.conversation.models import Conversation, Message
from agent.db.engine import create_db_engine, create_schema
from agent.runtime import Engines
from agent.settings import Settings
from web.app import create_app

NUL, SURROGATE = "\\u0000", "\\ud800"  # as JSON escapes in a frame


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(
    request: pytest.FixtureRequest, engines: Engines, staff_hashes: dict[str, str]
) -> Iterator[Engine]:
    """The web tests' seeded SQLite, or a fresh PostgreSQL schema with the staff users."""
    if request.param == "sqlite":
        yield request.getfixturevalue("db_engine")
        return
    base_url = request.getfixturevalue("postgres_available")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(base_url, connect_args={"options": f"-csearch_path={schema}"})
    create_schema(engine)
    with Session(engine) as session:
        add_staff(session, staff_hashes)
        session.commit()
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def chat_client(web_settings: Settings, engines: Engines, database: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings, engines, database)) as client:
        yield client


def stored(database: Engine) -> list[str]:
    """Every stored text a person may read: messages, rating comments, audit payloads."""
    with Session(database) as session:
        texts = list(session.exec(select(Message.content)))
        texts += [c or "" for c in session.exec(select(Conversation.rating_comment))]
        events = session.exec(select(AuditEvent)).all()
        texts += [json.dumps(e.payload, ensure_ascii=False) for e in events]
    return texts


def assert_storable(texts: list[str]) -> None:
    for content in texts:
        content.encode("utf-8")  # no lone surrogate
        assert "\x00" not in content and "\x07" not in content and "\u202e" not in content


def raw_message(client_id: str, text_json: str) -> str:
    """A message frame whose text is given as raw JSON string contents (escapes kept)."""
    return f'{{"type":"message","id":"{client_id}","text":"{text_json}"}}'


def test_absurd_nesting_is_refused_and_the_same_socket_chats_on(
    chat_client: TestClient, database: Engine
) -> None:
    with chat_client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        conversation_id = chat.hello()["conversation_id"]
        for frame in (
            "[" * 16_000,
            "{" * 16_000,
            '{"type":"message","id":"deep","text":' + "[" * 5_000,
            '{"type":"message","id":"deep2","text":"hi","x":' + "[" * 9 + "]" * 9 + "}",
        ):
            ws.send_text(frame)
            refused = chat.recv()
            assert (refused["type"], refused["code"]) == ("error", "bad_frame")
            assert "nest" in refused["message"]
        chat.send({"type": "message", "id": "typed", "text": {"nested": "object"}})
        wrong_type = chat.recv()
        assert (wrong_type["code"], wrong_type["id"]) == ("bad_frame", "typed")
        # A little nesting in a field the server does not know is fine.
        ws.send_text('{"type":"ping","extra":[[1],[2,[3]]]}')
        assert chat.recv() == {"type": "pong"}

        frames = chat.say("hello, what can you do?", "after")
    assert any(f["type"] == "ack" and f["id"] == "after" for f in frames)
    replies = [m for m in messages(frames) if m["role"] == "assistant"]
    assert replies and "automated assistant" in replies[0]["content"]
    with Session(database) as session:
        rows = session.exec(select(Message).where(Message.conversation_id == conversation_id))
        assert [m.client_message_id for m in rows if m.role == "customer"] == ["after"]


def test_surrogates_nul_and_control_characters_never_reach_storage(
    chat_client: TestClient, database: Engine
) -> None:
    with chat_client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        conversation_id = chat.hello()["conversation_id"]
        written = f"hi{SURROGATE} there{NUL}, bell\\u0007 and \\u202eevil\\r\\nnext line"
        ws.send_text(raw_message("dirty", written))
        first = chat.until(lambda f: f.get("id") == "dirty" and f["type"] in ("ack", "error"))
        assert first[-1]["type"] == "ack", first[-1]
        ws.send_text(raw_message("dirty", written))  # the client's retry: a duplicate
        assert chat.until(lambda f: f.get("id") == "dirty")[-1]["duplicate"] is True
        assert any(f["type"] == "ack" for f in chat.say("and my balance?", "clean"))

        ws.send_text(raw_message("nothing-left", f"{NUL}\\u0001{NUL}"))
        empty = chat.until(lambda f: f.get("id") == "nothing-left")[-1]
        assert (empty["type"], empty["code"]) == ("error", "empty_message")

        chat.send({"type": "end", "id": "bye"})
        chat.until(lambda f: f.get("id") == "bye")
        ws.send_text(f'{{"type":"rate","id":"stars","rating":4,"comment":"ok{NUL}{SURROGATE}"}}')
        assert chat.until(lambda f: f.get("id") == "stars")[-1]["type"] == "ack"

    with Session(database) as session:
        customer = session.exec(
            select(Message.content).where(
                Message.conversation_id == conversation_id, Message.role == "customer"
            )
        ).all()
        comment = session.get(Conversation, conversation_id).rating_comment  # type: ignore[union-attr]
    assert customer == ["hi\ufffd there, bell and evil\nnext line", "and my balance?"]
    assert comment == "ok\ufffd"
    assert_storable(stored(database))


def test_a_nul_byte_alone_is_cleaned_and_its_retry_is_a_duplicate(
    chat_client: TestClient, database: Engine
) -> None:
    with chat_client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        conversation_id = chat.hello()["conversation_id"]
        for attempt in range(2):
            ws.send_text(raw_message("nul", f"how do I make a pay{NUL}ment?"))
            ack = chat.until(lambda f: f.get("id") == "nul")[-1]
            assert (ack["type"], ack["duplicate"]) == ("ack", attempt == 1), ack
    with Session(database) as session:
        texts = session.exec(
            select(Message.content).where(
                Message.conversation_id == conversation_id, Message.role == "customer"
            )
        ).all()
    assert texts == ["how do I make a payment?"]


def test_the_console_socket_survives_nesting_and_cleans_ids(
    chat_client: TestClient, database: Engine
) -> None:
    staff_login(chat_client)
    with chat_client.websocket_connect("/ws/console") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_text("[" * 16_000)
        frame = ws.receive_json()
        while frame.get("type") != "error":
            frame = ws.receive_json()
        assert frame["code"] == "bad_frame"
        ws.send_text(f'{{"type":"watch","conversation_id":"x{NUL}y"}}')  # looked up, not found
        ws.send_text('{"type":"ping"}')
        frame = ws.receive_json()
        while frame.get("type") != "pong":
            assert frame.get("type") != "error", frame
            frame = ws.receive_json()


def queued(client: TestClient) -> str:
    service = client.app.state.web.service  # type: ignore[attr-defined]
    conv = service.start()
    assert service.customer_message(conv.id, "I want to talk to a real person").state == "queued"
    return conv.id


def post_raw(client: TestClient, path: str, body: str, headers: dict[str, str]) -> Any:
    return client.post(path, content=body, headers={**headers, "content-type": "application/json"})


def test_staff_text_is_cleaned_or_refused_never_a_server_error(
    chat_client: TestClient, database: Engine
) -> None:
    conversation_id = queued(chat_client)
    headers = staff_login(chat_client)
    base = f"/api/staff/conversations/{conversation_id}"
    assert chat_client.post(f"{base}/claim", headers=headers).status_code == 200

    sent = post_raw(
        chat_client, f"{base}/messages", f'{{"text":"Hello{NUL} there\\u0007!"}}', headers
    )
    assert sent.status_code == 200 and sent.json()["message"]["content"] == "Hello there!"
    for body in (f'{{"text":"hi {SURROGATE}"}}', f'{{"text":"{NUL}"}}'):
        refused = post_raw(chat_client, f"{base}/messages", body, headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] in ("invalid_request", "empty_message")
    closing = post_raw(chat_client, f"{base}/close", f'{{"disposition":"{NUL}"}}', headers)
    assert (closing.status_code, closing.json()["error"]["code"]) == (422, "invalid_request")
    closed = post_raw(chat_client, f"{base}/close", f'{{"disposition":"other{NUL}"}}', headers)
    assert closed.json()["disposition"] == "other"

    for username in (f"agent{NUL}", f"agent{SURROGATE}"):
        login = post_raw(
            chat_client,
            "/api/staff/login",
            f'{{"username":"{username}","password":"{PASSWORDS["agent"]}"}}',
            {},
        )
        assert (login.status_code, login.json()["error"]["code"]) == (422, "invalid_request")
    assert_storable(stored(database))
