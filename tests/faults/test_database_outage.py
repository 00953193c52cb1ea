"""The database unreachable for a few seconds: a server on PostgreSQL, reached through a TCP
proxy this test cuts and restores. Customers who write meanwhile get ``try_again`` (or a
late answer), never ``internal_error``; once the database is back the same server (no
restart) answers again, the resent messages are stored and answered once, and nothing that
was acknowledged is lost."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from agent.db.engine import create_db_engine
from tests.faults.kit import ChatClient, CuttableProxy, Server, assert_transcript_sound, transcript

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OUTAGE_SECONDS = 4.0
DURING = ["When is my next payment due?", "How much do I owe right now?", "How can I pay?"]
AFTER = ["What's my payoff amount?", "Do I have any late fees?"]


@pytest.fixture
def database(postgres_available: str) -> Iterator[str]:
    """A database of its own on the test PostgreSQL (the server migrates it), dropped after."""
    name = f"faults_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(postgres_available).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_database_away_for_a_few_seconds(
    tmp_path: Path, postgres_available: str, database: str
) -> None:
    url = make_url(postgres_available)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    through_proxy = url.set(host="127.0.0.1", port=proxy.port, database=database)
    server = Server(
        tmp_path, {"LOAN_AGENT_DATABASE_URL": through_proxy.render_as_string(hide_password=False)}
    )
    try:
        server.start()
        asyncio.run(_outage(server, proxy))
    finally:
        server.stop()
        proxy.close()


async def _outage(server: Server, proxy: CuttableProxy) -> None:
    client = await ChatClient.open(server.ws_url, token=server.customer_token("C100"))
    await client.message("before", "What is my balance?")
    seq = int((await client.turn_done("before"))["seq"])
    await client.wait(lambda: client.replies_to(seq), what="the first answer")

    proxy.cut()
    loop = asyncio.get_running_loop()
    back_at = loop.time() + OUTAGE_SECONDS
    during = {f"during-{i}": t for i, t in enumerate(DURING)}
    for client_id, text_ in during.items():
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
