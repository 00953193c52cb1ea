"""Bad input on the sockets: each answered clearly, nothing stored wrongly, server stays up."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select
from starlette.websockets import WebSocketDisconnect
from web_testkit import SECRET, ChatSocket

from agent.conversation.models import Conversation, Message
from agent.conversation.results import ConversationError
from agent.runtime import Engines
from agent.settings import Settings
from web.app import create_app
from web.auth import mint_customer_token
from web.config import WebLimits


def count(db: Engine, model: type) -> int:
    with Session(db) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_malformed_unknown_and_oversized_frames_are_refused_and_nothing_is_stored(
    client: TestClient, db_engine: Engine
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        chat.hello()
        ws.send_text("{not json")
        assert chat.recv()["code"] == "bad_frame"
        ws.send_text("[1, 2]")
        assert chat.recv()["code"] == "bad_frame"
        chat.send({"type": "shout", "id": "x-1", "text": "hi"})
        unknown = chat.recv()
        assert (unknown["code"], unknown["id"]) == ("unknown_type", "x-1")
        chat.send({"type": "message", "id": "x-2"})  # no text
        missing = chat.recv()
        assert (missing["code"], missing["id"]) == ("bad_frame", "x-2")
        assert "text" in missing["message"]
        chat.send({"type": "message", "id": "bad id with spaces", "text": "hi"})
        assert chat.recv()["code"] == "bad_frame"
        chat.send({"type": "message", "id": "x-3", "text": "a" * 20_000})
        assert chat.recv()["code"] == "frame_too_large"
        ws.send_bytes(b"\x00\x01")
        assert chat.recv()["code"] == "bad_frame"
        chat.send({"type": "rate", "id": "x-4", "rating": 6})
        assert chat.recv()["code"] == "bad_frame"
        chat.send({"type": "hello"})
        assert chat.recv()["code"] == "already_started"

        chat.send({"type": "ping"})
        assert chat.recv() == {"type": "pong"}  # still up, still this conversation
    assert count(db_engine, Message) == 0


def test_a_too_long_or_empty_message_is_refused_with_its_id(
    client: TestClient, db_engine: Engine
) -> None:
    limit = client.app.state.web.service.settings.max_message_chars  # type: ignore[attr-defined]
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        chat.hello()
        too_long = chat.say("b" * (limit + 1), "long-1")[-1]
        assert (too_long["type"], too_long["code"], too_long["id"]) == (
            "error",
            "message_too_long",
            "long-1",
        )
        assert str(limit) in too_long["message"]
        empty = chat.say("   ", "empty-1")[-1]
        assert (empty["code"], empty["id"]) == ("empty_message", "empty-1")
    assert count(db_engine, Message) == 0


def test_the_first_frame_must_be_hello(client: TestClient, db_engine: Engine) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "message", "id": "m", "text": "hi"})
        assert ws.receive_json()["code"] == "hello_required"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008
    assert count(db_engine, Conversation) == 0


@pytest.mark.parametrize(
    "token, code",
    [
        ("not-a-token", "bad_token"),
        (mint_customer_token("another-secret-entirely-0123456789", "C100"), "bad_token"),
        (mint_customer_token(SECRET, "C999"), "unknown_customer"),
    ],
)
def test_a_bad_customer_token_is_refused(
    client: TestClient, db_engine: Engine, token: str, code: str
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "hello", "token": token})
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert (error["type"], error["code"]) == ("error", code)
    assert closed.value.code == 4401
    assert count(db_engine, Conversation) == 0


def test_an_expired_customer_token_is_refused(
    client: TestClient, db_engine: Engine, web_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        issued = time.time() - web_settings.token_ttl_seconds - 60
        patched.setattr(time, "time", lambda: issued)
        token = mint_customer_token(SECRET, "C100")
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "hello", "token": token})
        error = ws.receive_json()
    assert error["code"] == "token_expired" and "expired" in error["message"]
    assert count(db_engine, Conversation) == 0


def test_an_expired_token_may_still_resume_its_own_conversation(
    client: TestClient, web_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = mint_customer_token(SECRET, "C100")
    with client.websocket_connect("/ws/chat") as ws:
        first = ChatSocket(ws).hello(token=token)
    later = time.time() + web_settings.token_ttl_seconds + 60  # an hour later, same page
    monkeypatch.setattr(time, "time", lambda: later)
    with client.websocket_connect("/ws/chat") as ws:
        again = ChatSocket(ws).hello(token=token, resume=first["resume"], last_seq=0)
    assert again["resumed"] is True and again["conversation_id"] == first["conversation_id"]
    with client.websocket_connect("/ws/chat") as ws:  # but it starts nothing new
        ws.send_json({"type": "hello", "token": token})
        assert ws.receive_json()["code"] == "token_expired"


def test_new_conversations_per_address_are_limited(
    web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    app = create_app(
        web_settings, engines, db_engine, limits=WebLimits(new_conversations_per_minute=2)
    )
    with TestClient(app) as client:
        resume = None
        for _ in range(2):
            with client.websocket_connect("/ws/chat") as ws:
                resume = ChatSocket(ws).hello()["resume"]
        with client.websocket_connect("/ws/chat") as ws:
            ws.send_json({"type": "hello"})
            refused = ws.receive_json()
            with pytest.raises(WebSocketDisconnect):
                ws.receive_json()
        with client.websocket_connect("/ws/chat") as ws:  # resuming is not starting
            assert ChatSocket(ws).hello(resume=resume)["resumed"] is True
    assert refused["code"] == "rate_limited"
    assert count(db_engine, Conversation) == 2


def test_a_silent_socket_is_closed_after_the_hello_timeout(
    web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    app = create_app(web_settings, engines, db_engine, limits=WebLimits(hello_timeout_seconds=0.3))
    with TestClient(app) as client, client.websocket_connect("/ws/chat") as ws:
        assert ws.receive_json()["code"] == "hello_timeout"


WINDOW = 3.0


def test_messages_beyond_the_rate_limit_are_refused_not_stored(
    web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    app = create_app(
        web_settings,
        engines,
        db_engine,
        # A window longer than three turns take on a busy machine (each on a database file).
        limits=WebLimits(messages_per_window=3, window_seconds=WINDOW),
    )
    with TestClient(app) as client, client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        conversation_id = chat.hello()["conversation_id"]
        for n in range(3):
            assert chat.say(f"message {n}", f"ok-{n}")[-1]["type"] == "typing"
        limited = chat.say("one too many", "over")[-1]
        assert (limited["code"], limited["id"]) == ("rate_limited", "over")
        assert 0 < limited["retry_after"] <= WINDOW
        time.sleep(limited["retry_after"] + 0.05)
        retried = chat.say("one too many", "over")  # the same id, once the window moved
        assert any(f["type"] == "ack" and f["id"] == "over" for f in retried)
    with Session(db_engine) as session:
        texts = session.exec(
            select(Message.content).where(
                Message.conversation_id == conversation_id, Message.role == "customer"
            )
        ).all()
    assert texts == ["message 0", "message 1", "message 2", "one too many"]


def test_the_rate_limit_survives_a_reconnect(
    web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    app = create_app(
        web_settings,
        engines,
        db_engine,
        limits=WebLimits(messages_per_window=2, window_seconds=30.0),
    )
    with TestClient(app) as client:
        with client.websocket_connect("/ws/chat") as ws:
            chat = ChatSocket(ws)
            welcome = chat.hello()
            chat.say("one", "1")
            chat.say("two", "2")
        with client.websocket_connect("/ws/chat") as ws:
            chat = ChatSocket(ws)
            chat.hello(resume=welcome["resume"], last_seq=4)
            assert chat.say("three", "3")[-1]["code"] == "rate_limited"


def test_a_flood_of_bad_frames_closes_the_socket(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        chat.hello()
        for _ in range(20):
            ws.send_text("garbage")
        errors = [chat.recv() for _ in range(20)]
        with pytest.raises(WebSocketDisconnect) as closed:
            chat.recv()
    assert {e["code"] for e in errors} == {"bad_frame"}
    assert closed.value.code == 1008
    with client.websocket_connect("/ws/chat") as ws:  # the server is fine
        assert ChatSocket(ws).hello()["type"] == "welcome"


def test_a_staff_socket_without_a_login_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/ws/console") as ws:
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert (error["type"], error["code"]) == ("error", "not_authenticated")
    assert closed.value.code == 4401


def test_a_staff_socket_from_another_origin_is_refused(client: TestClient) -> None:
    client.post("/api/staff/login", json={"username": "agent", "password": "agent-pass-123"})
    with client.websocket_connect("/ws/console", headers={"origin": "https://evil.example"}) as ws:
        assert ws.receive_json()["code"] == "forbidden_origin"


def test_a_forged_staff_cookie_is_refused(client: TestClient) -> None:
    client.cookies.set("hcf_staff", "eyJzaWQiOjF9.forged.signature")
    with client.websocket_connect("/ws/console") as ws:
        assert ws.receive_json()["code"] == "not_authenticated"
    assert client.get("/api/staff/me").status_code == 401


def test_console_frames_are_validated(client: TestClient) -> None:
    client.post("/api/staff/login", json={"username": "agent", "password": "agent-pass-123"})
    with client.websocket_connect("/ws/console") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_text("nope")
        frames = [ws.receive_json() for _ in range(2)]  # the queue snapshot may come first
        assert any(f.get("code") == "bad_frame" for f in frames)
        ws.send_json({"type": "claim", "conversation_id": "x"})
        frame = ws.receive_json()
        while frame["type"] != "error":
            frame = ws.receive_json()
        assert frame["code"] == "unknown_type"


def test_too_many_sockets_on_one_conversation(
    web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    app = create_app(web_settings, engines, db_engine, limits=WebLimits(sockets_per_conversation=1))
    with TestClient(app) as client, client.websocket_connect("/ws/chat") as first:
        welcome = ChatSocket(first).hello()
        with client.websocket_connect("/ws/chat") as second:
            second.send_json({"type": "hello", "resume": welcome["resume"], "last_seq": 0})
            assert second.receive_json()["code"] == "too_many_connections"


class BrokenBroker:
    """A broker whose subscriptions fail (Redis down)."""

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        return None

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        raise ConnectionError("redis is down")
        yield  # pragma: no cover

    def close(self) -> None:
        return None


def test_a_broken_event_broker_is_reported_not_hung(
    web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    app = create_app(web_settings, engines, db_engine, broker=BrokenBroker())
    with TestClient(app) as client, client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "hello"})
        assert ws.receive_json()["code"] == "unavailable"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1011


def test_a_conversation_that_could_not_be_started_asks_the_widget_to_come_back(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn worker lost while it started the conversation: "try again", and a close
    code the widget reconnects on (not the sign-in refusal it gives up on)."""
    service = client.app.state.web.service  # type: ignore[attr-defined]

    def lost(*args: Any, **kwargs: Any) -> None:
        raise ConversationError("try_again", "Please try again.")

    monkeypatch.setattr(service, "start", lost)
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "hello", "token": mint_customer_token(SECRET, "C100")})
        assert ws.receive_json()["code"] == "try_again"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1013
    widget = (Path(__file__).resolve().parents[2] / "web" / "static" / "widget.js").read_text()
    assert "1013: true" not in widget  # not among the codes the widget gives up on


def test_a_failing_turn_is_reported_and_the_socket_lives_on(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = client.app.state.web.service  # type: ignore[attr-defined]

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the model endpoint is down")

    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        chat.hello()
        monkeypatch.setattr(service, "customer_message", broken)
        chat.send({"type": "message", "id": "boom", "text": "hi"})
        failed = chat.until(lambda f: f["type"] == "error")
        assert (failed[-1]["code"], failed[-1]["id"]) == ("internal_error", "boom")
        assert "the model endpoint" not in failed[-1]["message"]  # no internals leak
        monkeypatch.undo()
        assert any(f["type"] == "ack" for f in chat.say("hello again", "ok"))


def test_pings_are_answered_while_a_slow_turn_runs(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = client.app.state.web.service  # type: ignore[attr-defined]
    real = service.customer_message

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "customer_message", slow)
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        chat.hello()
        chat.send({"type": "message", "id": "slow", "text": "hello"})
        chat.send({"type": "ping"})
        frames = chat.until(lambda f: f["type"] == "ack")
    kinds = [f["type"] for f in frames]
    assert kinds.index("pong") < kinds.index("ack")
