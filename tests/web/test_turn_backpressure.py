"""Turns under load (issue #12): when every turn slot is taken a customer's turn waits — the
customer sees "typing" a little longer — and never gets an error; pings, new conversations
and deliveries do not wait behind turns."""

from __future__ import annotations

import threading

from anyio import CapacityLimiter
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_testkit import ChatSocket, messages


def test_a_turn_waits_for_a_free_slot_and_the_socket_stays_responsive(
    app: FastAPI, client: TestClient, monkeypatch
) -> None:
    ctx = app.state.web
    ctx.turn_threads = CapacityLimiter(1)
    holding, release = threading.Event(), threading.Event()
    answer = ctx.service.customer_message
    started: list[str] = []

    def held_when_asked(conversation_id: str, text: str, *args):
        started.append(text)
        if text == "hold the slot":
            holding.set()
            assert release.wait(60)
        return answer(conversation_id, text, *args)

    monkeypatch.setattr(ctx.service, "customer_message", held_when_asked)
    with client.websocket_connect("/ws/chat") as ws_a, client.websocket_connect("/ws/chat") as ws_b:
        a, b = ChatSocket(ws_a), ChatSocket(ws_b)
        a.hello()
        b.hello()
        a.send({"type": "message", "id": "a1", "text": "hold the slot"})
        assert holding.wait(60)

        b.send({"type": "message", "id": "b1", "text": "how can I make a payment?"})
        b.send({"type": "ping"})
        waiting = b.until(lambda f: f["type"] == "pong")
        # B's turn is waiting for the only slot: typing shown, nothing refused, no answer yet.
        assert {"type": "typing", "on": True, "who": "assistant"} in waiting
        assert not [f for f in waiting if f["type"] in ("error", "ack")]
        # Opening a conversation does not queue behind the turns.
        with client.websocket_connect("/ws/chat") as ws_c:
            assert ChatSocket(ws_c).hello()["type"] == "welcome"
        assert started == ["hold the slot"]  # B's turn has not started

        release.set()
        answered_b = b.until(lambda f: f["type"] == "typing" and f["on"] is False)
        answered_a = a.until(lambda f: f["type"] == "typing" and f["on"] is False)

    for frames, client_id in ((answered_b, "b1"), (answered_a, "a1")):
        assert not [f for f in frames if f["type"] == "error"]
        assert any(f["type"] == "ack" and f["id"] == client_id for f in frames)
        assert [m["role"] for m in messages(frames)] == ["customer", "assistant"]
