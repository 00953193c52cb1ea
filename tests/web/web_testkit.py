"""Helpers the web tests share (a module with a distinct name: tests/ has no packages)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

PASSWORDS = {"agent": "agent-pass-123", "agent2": "agent2-pass-123",
             "supervisor": "super-pass-123"}
STAFF = (("agent", "Alex Rivera", "agent"), ("agent2", "Jordan Lee", "agent"),
         ("supervisor", "Sam Taylor", "supervisor"))
SECRET = "web-tests-secret-key-0123456789abcdef0123456789"


def staff_login(client: TestClient, username: str = "agent") -> dict[str, str]:
    """Log ``client`` in; returns the headers (CSRF) its state-changing requests need."""
    response = client.post("/api/staff/login",
                           json={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf"]}


class ChatSocket:
    """A thin client of the chat protocol over a TestClient websocket."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send_text(json.dumps(frame))

    def recv(self) -> dict[str, Any]:
        frame = json.loads(self.ws.receive_text())
        self.frames.append(frame)
        return frame

    def until(self, predicate: Callable[[dict[str, Any]], bool],
              limit: int = 60) -> list[dict[str, Any]]:
        """Frames up to and including the first that satisfies ``predicate``."""
        seen = []
        for _ in range(limit):
            frame = self.recv()
            seen.append(frame)
            if predicate(frame):
                return seen
        raise AssertionError(f"no matching frame in {seen}")

    def hello(self, **fields: Any) -> dict[str, Any]:
        self.send({"type": "hello", **fields})
        frames = self.until(lambda f: f["type"] in ("welcome", "error"))
        return frames[-1]

    def say(self, text: str, client_id: str) -> list[dict[str, Any]]:
        """Send a message; frames until its ack and the end of the typing indicator."""
        self.send({"type": "message", "id": client_id, "text": text})
        frames = self.until(lambda f: (f["type"] == "ack" and f["id"] == client_id)
                            or (f["type"] == "error" and f.get("id") == client_id))
        ack = frames[-1]
        if ack["type"] == "ack" and not ack["duplicate"] and not any(
                f["type"] == "message" and f["message"].get("client_id") == client_id
                for f in frames):
            frames += self.until(lambda f: f["type"] == "message"
                                 and f["message"].get("client_id") == client_id)
        if ack["type"] == "ack" and any(f["type"] == "typing" for f in frames):
            frames += self.until(lambda f: f["type"] == "typing" and not f["on"])
        return frames


def messages(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f["message"] for f in frames if f["type"] == "message"]


