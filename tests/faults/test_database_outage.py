"""The database unreachable for a few seconds: a server on PostgreSQL, reached through a TCP
proxy this test cuts and restores. Customers who write meanwhile get ``try_again`` (or a
late answer), never ``internal_error``; once the database is back the same server (no
restart) answers again, the resent messages are stored and answered once, and nothing that
was acknowledged is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.faults.kit import (
    ChatClient,
    CuttableProxy,
    Server,
    assert_transcript_sound,
    transcript,
    wait_until,
)
from tests.faults.test_kill_restart import fail_fast, llm_env
from tests.llm.scripted_openai import ScriptedOpenAI, reply

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OUTAGE_SECONDS = 4.0
DURING = ["When is my next payment due?", "How much do I owe right now?"]
AFTER = ["What's my payoff amount?", "Do I have any late fees?"]


@pytest.fixture
def database(postgres_database: str) -> str:
    return postgres_database


@pytest.fixture
def scripted() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as server:
        yield server


def test_the_database_away_for_a_few_seconds(
    tmp_path: Path, postgres_available: str, database: str, scripted: ScriptedOpenAI
) -> None:
    """One turn is in flight when the link is cut (its model answer is held until then),
    the others arrive while it is down."""
    url = make_url(postgres_available)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    through_proxy = url.set(host="127.0.0.1", port=proxy.port, database=database)
    fail_fast(scripted)  # the offline engine answers every turn but the held one
    server = Server(
        tmp_path,
        {
            **llm_env(scripted),
            "LOAN_AGENT_DATABASE_URL": through_proxy.render_as_string(hide_password=False),
        },
    )
    try:
        server.start()
        conversation_id, customer_texts = asyncio.run(_outage(server, proxy, scripted))
    finally:
        server.stop()
        proxy.close()
        scripted.reset()
    remembered = checkpointed_customer_texts(url.set(database=database), conversation_id)
    assert len(remembered) == len(set(remembered)), remembered  # no turn remembered twice
    assert set(remembered) <= set(customer_texts)  # none the transcript lacks


async def _outage(
    server: Server, proxy: CuttableProxy, scripted: ScriptedOpenAI
) -> tuple[str, list[str]]:
    client = await ChatClient.open(server.ws_url, token=server.customer_token("C100"))
    await client.message("before", "What is my balance?")
    seq = int((await client.turn_done("before"))["seq"])
    await client.wait(lambda: client.replies_to(seq), what="the first answer")

    asked = len(scripted.requests)
    scripted.script(reply("Thanks for asking; I'm here to help with your loan.", delay=2.0))
    await client.message("in-flight", "Can you tell me about my loan?")
    await asyncio.to_thread(
        wait_until, lambda: len(scripted.requests) > asked, what="the model call"
    )
    proxy.cut()
    loop = asyncio.get_running_loop()
    back_at = loop.time() + OUTAGE_SECONDS
    during = {"in-flight": "Can you tell me about my loan?"}
    during.update({f"during-{i}": t for i, t in enumerate(DURING)})
    for client_id, text_ in list(during.items())[1:]:
        await client.message(client_id, text_)
    answers = {client_id: await client.answer(client_id) for client_id in during}
    await asyncio.sleep(max(0.0, back_at - loop.time()))
    proxy.restore()

    for client_id, answer in answers.items():
        assert answer["type"] == "ack" or answer.get("code") == "try_again", (client_id, answer)
    assert not [e for errors in client.errors.values() for e in errors if e["code"] != "try_again"]
    assert not client.closed.is_set()

    # The widget resends what was not stored, with the same ids; new messages work too.
    # The server may need a moment to reconnect: try_again means "send it again".
    pending = {i: t for i, t in during.items() if answers[i]["type"] != "ack"}
    pending.update({f"after-{i}": t for i, t in enumerate(AFTER)})
    for client_id, text_ in pending.items():
        answer = await resend_until_stored(client, client_id, text_)
        assert answer["type"] == "ack", (client_id, answer)
        await client.turn_done(client_id)
        seq = int(answer["seq"])
        await client.wait(lambda s=seq: client.replies_to(s), what=f"the answer to {client_id}")

    bad = [e for errors in client.errors.values() for e in errors if e["code"] != "try_again"]
    assert bad == []  # (rate_limited answers were resent and dropped above)
    # Exactly one answer per frame: nothing acknowledged was refused as well.
    for client_id in client.acks:
        assert not any(
            f.get("type") == "error" and f.get("id") == client_id
            for f in client.frames[client.frames.index(client.acks[client_id]) :]
        ), client_id
    replay = await transcript(server, client.resume_token)
    acked = {k: int(v["seq"]) for k, v in client.acks.items()}
    assert set(acked) == {"before", *during, *pending}
    assert_transcript_sound(replay, acked)
    for seq in acked.values():
        assert len(replay.replies_to(seq)) == 1
    await client.close()
    texts = [m["content"] for m in replay.messages.values() if m["role"] == "customer"]
    return client.conversation_id, texts


async def resend_until_stored(client: ChatClient, client_id: str, text_: str) -> dict:
    """Send, and resend after ``try_again`` like the widget (a bounded number of times),
    or after ``retry_after`` when the conversation's message budget is spent."""
    for attempt in range(10):
        await client.message(client_id, text_)
        answer = await client.answer(client_id)
        if answer["type"] == "ack":
            return answer
        assert answer.get("code") in ("try_again", "rate_limited"), answer
        client.errors.pop(client_id, None)
        await asyncio.sleep(float(answer.get("retry_after") or min(0.5 * 2**attempt, 5.0)))
    return answer


def checkpointed_customer_texts(url: Any, conversation_id: str) -> list[str]:
    """What the PostgreSQL checkpoint remembers the customer saying in a conversation."""
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg import Connection
    from psycopg.rows import dict_row

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with Connection.connect(dsn, autocommit=True, row_factory=dict_row) as connection:
        found = PostgresSaver(connection).get_tuple(
            {"configurable": {"thread_id": conversation_id, "checkpoint_ns": ""}}
        )
    if found is None:
        return []
    messages = found.checkpoint["channel_values"].get("messages", [])
    return [str(m.content) for m in messages if isinstance(m, HumanMessage)]
