"""Streamed replies on the chat socket: with an LLM that streams (a scripted
OpenAI-compatible server over real HTTP), the widget gets ``draft`` frames while the reply
is written, then the stored ``message`` that replaces them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from web_testkit import SECRET, ChatSocket, messages

from agent.runtime import Engines
from tests.llm.scripted_openai import ScriptedOpenAI, call, reply, tool_calls
from web.app import create_app
from web.auth import mint_customer_token
from web.config import WebLimits

ANSWER = "Thanks for asking. I checked your account just now. Is there anything else I can do?"


@pytest.fixture
def llm_client(llm_engines: Engines, db_engine: Engine, limits: WebLimits) -> Iterator[TestClient]:
    app = create_app(llm_engines.settings, llm_engines, db_engine, limits=limits)
    with TestClient(app) as client:
        yield client


def drafts(frames: list[dict[str, Any]]) -> list[str]:
    return [f["text"] for f in frames if f["type"] == "draft"]


def test_a_streamed_reply_arrives_as_drafts_then_the_stored_message(
    llm_client: TestClient, scripted: ScriptedOpenAI
) -> None:
    scripted.script(tool_calls(call("get_account_summary")), reply(ANSWER, token_delay=0.02))
    with llm_client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        chat.hello(token=mint_customer_token(SECRET, "C100"))
        frames = chat.say("how is my account doing?", "m-1")

    kinds = [f["type"] for f in frames]
    final = next(m for m in messages(frames) if m["role"] == "assistant")
    shown = drafts(frames)
    assert shown, kinds
    assert all(final["content"].startswith(text) for text in shown)
    assert shown[0].endswith("Thanks for asking.")
    # Every draft comes while the assistant is typing and before the stored reply.
    first_draft, reply_at = kinds.index("draft"), kinds.index("message")
    assert kinds.index("typing") < first_draft
    assert all(i < reply_at for i, kind in enumerate(kinds) if kind == "draft")
    assert {f["reply_to"] for f in frames if f["type"] == "draft"} == {1}
    assert final["seq"] == 2 and final["content"].endswith(ANSWER)


def test_drafts_are_not_replayed_on_resume(
    llm_client: TestClient, scripted: ScriptedOpenAI
) -> None:
    scripted.script(reply(ANSWER))
    with llm_client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        welcome = chat.hello(token=mint_customer_token(SECRET, "C100"))
        chat.say("hello there", "m-1")
    with llm_client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        chat.send(
            {
                "type": "hello",
                "v": 1,
                "token": mint_customer_token(SECRET, "C100"),
                "resume": welcome["resume"],
                "last_seq": 0,
            }
        )
        frames = chat.until(lambda f: f["type"] == "message" and f["message"]["seq"] == 2)
    assert not drafts(frames)
    assert [m["role"] for m in messages(frames)] == ["customer", "assistant"]
