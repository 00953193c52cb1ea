"""The protocol against a real uvicorn on a loopback port, including a server restart."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from web_testkit import PASSWORDS, ChatSocket, LiveServer, staff_login
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from agent.conversation.broker import RedisBroker
from agent.conversation.models import Message
from agent.runtime import Engines
from agent.settings import Settings
from web.app import create_app


class Client:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def until(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        frames = []
        while True:
            frame = json.loads(self.ws.recv(timeout=20))
            frames.append(frame)
            if predicate(frame):
                return frames


def seqs(frames: list[dict[str, Any]]) -> list[int]:
    return [f["message"]["seq"] for f in frames if f["type"] == "message"]


def test_chat_over_a_real_server(live_server: LiveServer) -> None:
    with connect(f"{live_server.ws_url}/ws/chat") as ws:
        chat = Client(ws)
        chat.send({"type": "hello"})
        assert chat.until(lambda f: f["type"] == "welcome")[-1]["state"] == "ai"
        chat.send({"type": "message", "id": "a", "text": "hello"})
        frames = chat.until(lambda f: f["type"] == "typing" and not f["on"])
    assert {"type": "ack", "id": "a", "seq": 1, "duplicate": False} in frames
    assert seqs(frames) == [1, 2]
    assert httpx.get(f"{live_server.url}/healthz").json() == {"ok": True}


def test_a_restart_loses_nothing_and_duplicates_nothing(
    live_server_factory: Callable[..., LiveServer], file_db: Engine
) -> None:
    first = live_server_factory()
    with connect(f"{first.ws_url}/ws/chat") as ws:
        chat = Client(ws)
        chat.send({"type": "hello"})
        welcome = chat.until(lambda f: f["type"] == "welcome")[-1]
        conversation_id = welcome["conversation_id"]
        chat.send({"type": "message", "id": "m-1", "text": "please let me talk to a person"})
        before = chat.until(lambda f: f["type"] == "ack")
        if not any(f["type"] == "state" for f in before):
            before += chat.until(lambda f: f["type"] == "state")
        assert seqs(before) == [1, 2, 3]  # question, answer, queue notice
        seen = 3
        first.stop()  # the server goes away under the open socket
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=10)

    second = live_server_factory(port=first.port)  # same address, new process state
    staff = httpx.Client(base_url=second.url)
    csrf = staff.post(
        "/api/staff/login", json={"username": "agent", "password": PASSWORDS["agent"]}
    ).json()["csrf"]
    claimed = staff.post(
        f"/api/staff/conversations/{conversation_id}/claim", headers={"X-CSRF-Token": csrf}
    )
    assert claimed.status_code == 200
    staff.post(
        f"/api/staff/conversations/{conversation_id}/messages",
        json={"text": "Hi, Alex here. How can I help?"},
        headers={"X-CSRF-Token": csrf},
    )

    with connect(f"{second.ws_url}/ws/chat") as ws:
        chat = Client(ws)
        chat.send({"type": "hello", "resume": welcome["resume"], "last_seq": seen})
        chat.send({"type": "message", "id": "m-1", "text": "please let me talk to a person"})
        chat.send({"type": "message", "id": "m-2", "text": "I lost my connection"})
        frames = chat.until(lambda f: f["type"] == "ack" and f["id"] == "m-2")
        frames += chat.until(
            lambda f: f["type"] == "message" and f["message"].get("client_id") == "m-2"
        )

    resumed = frames[0]
    assert resumed["type"] == "welcome" and resumed["resumed"] is True
    assert resumed["conversation_id"] == conversation_id and resumed["state"] == "human"
    acks = {f["id"]: f for f in frames if f["type"] == "ack"}
    assert acks["m-1"]["duplicate"] is True and acks["m-2"]["duplicate"] is False
    with Session(file_db) as session:
        stored = session.exec(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(col(Message.seq))
        ).all()
    delivered = seqs(before) + seqs(frames)
    assert delivered == [m.seq for m in stored]  # every message once, in order
    assert [m.client_message_id for m in stored].count("m-1") == 1
    assert [(m.role, m.author) for m in stored if m.seq > seen][:2] == [
        ("system", None),
        ("agent", "Alex Rivera"),
    ]


@pytest.mark.redis
def test_two_instances_share_events_through_redis(
    redis_available: str, web_settings: Settings, engines: Engines, file_db: Engine
) -> None:
    """The customer on instance A sees, live, what an agent does on instance B."""
    instance_a = create_app(web_settings, engines, file_db, broker=RedisBroker(redis_available))
    instance_b = create_app(web_settings, engines, file_db, broker=RedisBroker(redis_available))
    with (
        TestClient(instance_a) as a,
        TestClient(instance_b) as b,
        a.websocket_connect("/ws/chat") as ws,
    ):
        chat = ChatSocket(ws)
        conversation_id = chat.hello()["conversation_id"]
        chat.send({"type": "request_human", "id": "h"})
        chat.until_all(
            lambda f: f["type"] == "queue", lambda f: f["type"] == "ack" and f["id"] == "h"
        )
        headers = staff_login(b)
        claimed = b.post(f"/api/staff/conversations/{conversation_id}/claim", headers=headers)
        assert claimed.status_code == 200
        b.post(
            f"/api/staff/conversations/{conversation_id}/messages",
            json={"text": "Hello from the other instance."},
            headers=headers,
        )
        frames = chat.until(lambda f: f["type"] == "message" and f["message"]["role"] == "agent")
    assert any(f["type"] == "state" and f["state"] == "human" for f in frames)
    assert frames[-1]["message"]["content"] == "Hello from the other instance."
