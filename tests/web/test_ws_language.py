"""The conversation's language on the chat socket: in ``welcome`` and ``state`` frames, and
a ``language`` frame after a customer message that changed it (web/PROTOCOL.md)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session
from web_testkit import SECRET, ChatSocket, messages

from agent.conversation.models import Conversation
from agent.ledger.models import Customer
from web.auth import mint_customer_token

HAN = re.compile(r"[\u4e00-\u9fff]")


def language_frames(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "language"]


def stored_language(db: Engine, conversation_id: str) -> str:
    with Session(db) as session:
        conv = session.get(Conversation, conversation_id)
        assert conv is not None
        return conv.language


def test_a_chinese_message_switches_the_conversation_and_says_so(
    client: TestClient, db_engine: Engine
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        welcome = chat.hello()
        assert welcome["language"] == "en"  # anonymous: the default

        frames = chat.say("你好，我想查一下我欠多少钱", "m-1")
        assert language_frames(frames) == [{"type": "language", "language": "zh"}]
        kinds = [f["type"] for f in frames]
        # After the turn: its ack and its messages first.
        assert kinds.index("language") > kinds.index("ack")
        reply = [m for m in messages(frames) if m["role"] == "assistant"]
        assert reply and HAN.search(reply[-1]["content"]), reply
        assert kinds.index("language") > max(
            i for i, f in enumerate(frames) if f["type"] == "message"
        )

        # Still Chinese: no second language frame; the state frame names it.
        frames = chat.say("转人工", "m-2")
        assert language_frames(frames) == []
        state = chat.wait(lambda f: f["type"] == "state")[-1]
        assert state["state"] == "queued" and state["language"] == "zh"
        assert language_frames(chat.frames) == [{"type": "language", "language": "zh"}]

    assert stored_language(db_engine, welcome["conversation_id"]) == "zh"
    with client.websocket_connect("/ws/chat") as ws:  # a reconnect: welcome says zh
        again = ChatSocket(ws).hello(resume=welcome["resume"], last_seq=0)
        assert again["resumed"] is True and again["language"] == "zh"


def test_an_english_conversation_gets_no_language_frame(
    client: TestClient, db_engine: Engine
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        welcome = chat.hello()
        assert welcome["language"] == "en"
        chat.say("hello", "m-1")
        chat.say("how can I make a payment?", "m-2")
        chat.send({"type": "request_human", "id": "h-1"})
        state = chat.wait(lambda f: f["type"] == "state")[-1]
        assert state["state"] == "queued" and state["language"] == "en"
        chat.wait(lambda f: f["type"] == "ack" and f["id"] == "h-1")
        chat.wait(lambda f: f["type"] == "typing" and not f["on"])  # the turn is over
        assert language_frames(chat.frames) == []
    assert stored_language(db_engine, welcome["conversation_id"]) == "en"


def test_a_spanish_message_switches_to_spanish_and_a_repeat_says_nothing(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        chat.hello()
        text = "Hola, quisiera saber cuánto debo en mi préstamo"
        frames = chat.say(text, "m-1")
        assert language_frames(frames) == [{"type": "language", "language": "es"}]
        again = chat.say(text, "m-1")  # the same id: a duplicate, nothing new
        assert next(f for f in again if f["type"] == "ack")["duplicate"] is True
        assert language_frames(again) == []


def test_welcome_carries_the_customers_language_on_file(
    client: TestClient, db_engine: Engine
) -> None:
    with Session(db_engine) as session:
        customer = session.get(Customer, "C101")
        assert customer is not None
        customer.language = "es"
        session.add(customer)
        session.commit()
    token = mint_customer_token(SECRET, "C101")
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        welcome = chat.hello(token=token)
        assert welcome["type"] == "welcome" and welcome["verified"] is True
        assert welcome["language"] == "es"
        frames = chat.say("Hola, ¿cuándo vence mi próximo pago?", "m-1")
        assert language_frames(frames) == []  # already Spanish


def test_a_new_conversation_starts_in_the_pages_language_and_the_button_keeps_it(
    client: TestClient, db_engine: Engine
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        welcome = chat.hello(language="zh")
        assert welcome["language"] == "zh"
        # "Talk to a person" is stored in the conversation's words: it stays Chinese.
        chat.send({"type": "request_human", "id": "h-1"})
        state = chat.wait(lambda f: f["type"] == "state")[-1]
        assert state["state"] == "queued" and state["language"] == "zh"
        assert language_frames(chat.frames) == []
    assert stored_language(db_engine, welcome["conversation_id"]) == "zh"
    with client.websocket_connect("/ws/chat") as ws:
        assert ChatSocket(ws).hello(language="fr")["language"] == "en"
