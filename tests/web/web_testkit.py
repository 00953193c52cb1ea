"""Helpers the web tests share (a module with a distinct name: tests/ has no packages)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

PASSWORDS = {"agent": "agent-pass-123", "agent2": "agent2-pass-123", "supervisor": "super-pass-123"}
STAFF = (
    ("agent", "Alex Rivera", "agent"),
    ("agent2", "Jordan Lee", "agent"),
    ("supervisor", "Sam Taylor", "supervisor"),
)
SECRET = "web-tests-secret-key-0123456789abcdef0123456789"


def add_staff(session: Any, password_hashes: dict[str, str]) -> None:
    """The test staff (``STAFF``) with their hashed ``PASSWORDS``; the caller commits."""
    from agent.conversation.models import StaffUser

    for username, name, role in STAFF:
        session.add(
            StaffUser(
                username=username,
                display_name=name,
                role=role,
                password_hash=password_hashes[username],
            )
        )


def staff_login(client: TestClient, username: str = "agent") -> dict[str, str]:
    """Log ``client`` in; returns the headers (CSRF) its state-changing requests need."""
    response = client.post(
        "/api/staff/login", json={"username": username, "password": PASSWORDS[username]}
    )
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf"]}


class ChatSocket:
    """A thin client of the chat protocol over a TestClient websocket."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self._exchange = 0  # where the frames since the last send begin

    def send(self, frame: dict[str, Any]) -> None:
        self._exchange = len(self.frames)
        self.ws.send_text(json.dumps(frame))

    def wait(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """A frame matching ``predicate`` since the last send (already read or still to come).

        Live events (state, queue) and the reply to a frame (ack) may arrive in either order.
        """
        for frame in self.frames[self._exchange :]:
            if predicate(frame):
                return [frame]
        return self.until(predicate)

    def recv(self) -> dict[str, Any]:
        frame = json.loads(self.ws.receive_text())
        self.frames.append(frame)
        return frame

    def until(
        self, predicate: Callable[[dict[str, Any]], bool], limit: int = 60
    ) -> list[dict[str, Any]]:
        """Frames up to and including the first that satisfies ``predicate``."""
        seen = []
        for _ in range(limit):
            frame = self.recv()
            seen.append(frame)
            if predicate(frame):
                return seen
        raise AssertionError(f"no matching frame in {seen}")

    def until_all(
        self, *predicates: Callable[[dict[str, Any]], bool], limit: int = 60
    ) -> list[dict[str, Any]]:
        """Frames until each predicate has matched one (the order between them is free)."""
        seen: list[dict[str, Any]] = []
        pending = list(predicates)
        for _ in range(limit):
            frame = self.recv()
            seen.append(frame)
            pending = [p for p in pending if not p(frame)]
            if not pending:
                return seen
        raise AssertionError(f"not all frames arrived in {seen}")

    def hello(self, **fields: Any) -> dict[str, Any]:
        self.send({"type": "hello", **fields})
        frames = self.until(lambda f: f["type"] in ("welcome", "error"))
        return frames[-1]

    def say(self, text: str, client_id: str) -> list[dict[str, Any]]:
        """Send a message; frames until its ack and the end of the typing indicator."""
        self.send({"type": "message", "id": client_id, "text": text})
        frames = self.until(
            lambda f: (
                (f["type"] == "ack" and f["id"] == client_id)
                or (f["type"] == "error" and f.get("id") == client_id)
            )
        )
        ack = frames[-1]
        if (
            ack["type"] == "ack"
            and not ack["duplicate"]
            and not any(
                f["type"] == "message" and f["message"].get("client_id") == client_id
                for f in frames
            )
        ):
            frames += self.until(
                lambda f: f["type"] == "message" and f["message"].get("client_id") == client_id
            )
        if ack["type"] == "ack" and any(f["type"] == "typing" for f in frames):
            frames += self.until(lambda f: f["type"] == "typing" and not f["on"])
        return frames


def messages(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f["message"] for f in frames if f["type"] == "message"]


@dataclass
class LiveServer:
    app: FastAPI
    port: int
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    # More uvicorn.Config options (e.g. those ``loan-agent serve`` passes).
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
            ws_ping_interval=None,
            **self.options,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=15)
            self.server = self.thread = None
