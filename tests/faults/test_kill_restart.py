"""kill -9 a server mid-turn and start it again on the same data directory (the embedded
default: a SQLite file, the SQLite checkpointer beside it): the widget resumes, no
acknowledged message is lost or repeated, a resend of an unacknowledged one is answered
exactly once, and a pending confirmation, the verified identity and a queued escalation
are all still there.

Two ways to land the kill inside a turn: a model endpoint (scripted, in this process) that
holds its answer until the process is dead, and bursts of messages killed after a seeded
random delay (so the kill lands anywhere: before, inside or after a turn's commit).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.kit import ChatClient, Server, assert_transcript_sound, transcript, wait_until
from tests.llm.scripted_openai import Forever, ScriptedOpenAI, http_error, reply

pytestmark = pytest.mark.slow

MARIA = ("C100", "1988-04-12", "73301", "L100")
JAMES = ("C101", "1975-11-02", "10001", "L101")


@pytest.fixture
def scripted() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as server:
        yield server


def llm_env(scripted: ScriptedOpenAI) -> dict[str, str]:
    """An OpenAI-compatible model that fails fast (HTTP 500) unless a test scripts a slow
    answer: the offline engine answers every turn as the fallback, and a scripted delay
    holds a turn in flight for as long as the test needs."""
    return {
        "LOAN_AGENT_LLM_PROVIDER": "openai",
        "LOAN_AGENT_LLM_BASE_URL": scripted.base_url,
        "LOAN_AGENT_LLM_MODEL": scripted.model,
        "LOAN_AGENT_LLM_API_KEY": "sk-faults",
        "LOAN_AGENT_LLM_MAX_RETRIES": "0",
        "LOAN_AGENT_LLM_TIMEOUT_SECONDS": "300",
    }


def fail_fast(scripted: ScriptedOpenAI) -> None:
    scripted.reset()
    scripted.script(Forever(http_error(500, "scripted: down")))


async def say(client: ChatClient, client_id: str, text: str) -> int:
    await client.message(client_id, text)
    answer = await client.turn_done(client_id)
    assert answer["type"] == "ack", answer
    return int(answer["seq"])


async def verify_in_chat(client: ChatClient, who: tuple[str, str, str, str], prefix: str) -> None:
    _, born, zip_code, loan = who
    await say(client, f"{prefix}-1", f"What is my balance? My loan is {loan}")
    seq = await say(client, f"{prefix}-2", f"My date of birth is {born} and my ZIP is {zip_code}")
    await client.wait(lambda: client.replies_to(seq), what="the verification reply")
    assert "verified" in client.replies_to(seq)[0]["content"]


def due_date_changes(data_dir: Path, loan_id: str) -> int:
    with sqlite3.connect(data_dir / "loan_agent.db") as db:
        (count,) = db.execute(
            "SELECT count(*) FROM duedatechange WHERE loan_id = ?", (loan_id,)
        ).fetchone()
    return int(count)


def test_kill_during_a_confirmation_then_resume(tmp_path: Path, scripted: ScriptedOpenAI) -> None:
    fail_fast(scripted)
    server = Server(tmp_path, llm_env(scripted)).start()
    try:
        asyncio.run(_kill_during_a_confirmation(server, scripted))
    finally:
        server.stop()
        scripted.reset()  # releases a held answer


async def _kill_during_a_confirmation(server: Server, scripted: ScriptedOpenAI) -> None:
    # Maria, signed in on the lender's site: a due-date change waits for her yes.
    maria = await ChatClient.open(server.ws_url, token=server.customer_token(MARIA[0]))
    seq = await say(maria, "m1", "I'd like to change my due date to the 20th")
    await maria.wait(lambda: maria.replies_to(seq), what="the proposal")
    proposal = maria.replies_to(seq)[0]["proposal"]
    assert "20th" in proposal["summary"]

    # James verifies in the chat and asks for a person: queued.
    james = await ChatClient.open(server.ws_url)
    await verify_in_chat(james, JAMES, "j")
    await say(james, "j-3", "I want to talk to a person")
    await james.wait(lambda: any(f.get("state") == "queued" for f in james.frames), what="queued")

    # Maria (anonymous this time, another tab) verifies in the chat and stays with the AI.
    anon = await ChatClient.open(server.ws_url)
    await verify_in_chat(anon, MARIA, "a")

    # Maria clicks Yes; the model holds its answer; the server dies mid-turn.
    asked = len(scripted.requests)
    scripted.script(reply("This answer never arrives.", delay=600))
    await maria.confirm("m2-yes", proposal["id"])
    await asyncio.to_thread(
        wait_until, lambda: len(scripted.requests) > asked, what="the model call"
    )
    server.kill9()
    await maria.wait(lambda: maria.closed.is_set(), what="the socket to drop")
    assert "m2-yes" not in maria.acks and "m2-yes" not in maria.errors
    assert due_date_changes(server.data_dir, "L100") == 0
    before = {name: c.last_seq for name, c in {"maria": maria, "james": james}.items()}
    acked_maria = {"m1": seq}

    fail_fast(scripted)
    await asyncio.to_thread(server.start)

    # Maria's widget resumes where it was: nothing is sent twice, the proposal waits.
    back = await ChatClient.open(
        server.ws_url,
        token=server.customer_token(MARIA[0]),
        resume=maria.resume_token,
        last_seq=before["maria"],
    )
    assert back.welcome["resumed"] is True
    assert back.welcome["conversation_id"] == maria.conversation_id
    assert back.welcome["verified"] is True and back.welcome["state"] == "ai"
    assert back.welcome["last_seq"] == before["maria"]
    replay = await transcript(server, back.resume_token)
    newest = replay.messages[max(replay.messages)]
    assert newest.get("proposal", {}).get("id") == proposal["id"]

    # The resend of the unacknowledged Yes is answered exactly once and changes the date
    # once; resent again it is a duplicate, and the proposal is gone.
    await back.confirm("m2-yes", proposal["id"])
    answer = await back.turn_done("m2-yes")
    assert answer["type"] == "ack" and answer["duplicate"] is False, answer
    yes_seq = int(answer["seq"])
    await back.wait(lambda: back.replies_to(yes_seq), what="the answer to yes")
    assert back.replies_to(yes_seq)[0]["content"].startswith("Done")
    acked_maria["m2-yes"] = yes_seq
    await back.confirm("m2-yes", proposal["id"])

    def acks_of_yes() -> list[dict]:
        return [f for f in back.frames if f.get("type") == "ack" and f["id"] == "m2-yes"]

    await back.wait(lambda: len(acks_of_yes()) >= 2, what="the second ack")
    assert [a["duplicate"] for a in acks_of_yes()] == [False, True]
    await back.confirm("m3-yes", proposal["id"])
    refused = await back.answer("m3-yes")
    assert refused.get("code") == "stale_proposal", refused
    assert due_date_changes(server.data_dir, "L100") == 1
    await back.close()

    # The queued escalation is still in the queue, and James is still verified.
    agent = server.staff("agent")
    assert james.conversation_id in agent.queue_ids()
    james_back = await ChatClient.open(
        server.ws_url, resume=james.resume_token, last_seq=before["james"]
    )
    assert james_back.welcome["verified"] is True and james_back.welcome["state"] == "queued"
    await james_back.wait(
        lambda: any(f["type"] == "queue" for f in james_back.frames), what="the queue frame"
    )
    assert james_back.messages == {}  # nothing after last_seq: nothing repeated
    await james_back.close()

    # The anonymous chat's verification survived: the balance comes without a new check.
    anon_back = await ChatClient.open(
        server.ws_url, resume=anon.resume_token, last_seq=anon.last_seq
    )
    assert anon_back.welcome["verified"] is True
    seq = await say(anon_back, "a-3", "What is my balance?")
    await anon_back.wait(lambda: anon_back.replies_to(seq), what="the balance")
    assert "L100" in anon_back.replies_to(seq)[0]["content"]
    assert "date of birth" not in anon_back.replies_to(seq)[0]["content"]
    await anon_back.close()

    for client, acked in (
        (maria, acked_maria),
        (james, {k: v["seq"] for k, v in james.acks.items()}),
        (anon, {k: v["seq"] for k, v in anon.acks.items()}),
    ):
        assert_transcript_sound(await transcript(server, client.resume_token), acked)
    for client in (maria, james, anon):
        await client.close()


QUESTIONS = [
    "What is my balance?",
    "When is my next payment due?",
    "How much do I owe right now?",
    "What's my payoff amount?",
    "How can I make a payment?",
    "Is anything past due on my loan?",
    "What do I owe this month?",
    "When is the due date?",
    "What is the payoff today?",
    "How do I pay?",
    "Do I have any late fees?",
    "What's my next payment amount?",
]
BURST = 6
KILLS = 2


def test_kill_at_random_points_of_a_burst(tmp_path: Path) -> None:
    """Each round: a conversation sends a burst of messages without waiting; the server is
    killed after a seeded random delay, started again, and the widget resumes and resends
    what was not acknowledged. Every message ends stored once and answered once, and the
    model's memory (the checkpoint) never holds a turn twice nor one the transcript lacks."""
    server = Server(tmp_path).start()
    try:
        conversations = asyncio.run(_kill_at_random_points(server, random.Random(12)))
    finally:
        server.stop()
    for conversation_id, texts in conversations.items():
        remembered = checkpointed_customer_texts(tmp_path, conversation_id)
        assert len(remembered) == len(set(remembered)), remembered
        assert set(remembered) <= set(texts)


async def _kill_at_random_points(server: Server, rng: random.Random) -> dict[str, list[str]]:
    rounds: list[tuple[ChatClient, dict[str, str]]] = []
    for round_ in range(KILLS):
        client = await ChatClient.open(server.ws_url, token=server.customer_token(MARIA[0]))
        sent = {
            f"r{round_}-{i}": QUESTIONS[(round_ * BURST + i) % len(QUESTIONS)] for i in range(BURST)
        }
        for client_id, text in sent.items():
            await client.message(client_id, text)
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        server.kill9()
        await client.wait(lambda c=client: c.closed.is_set(), what="the socket to drop")
        assert not any(client.errors.values()), client.errors
        rounds.append((client, sent))
        await asyncio.to_thread(server.start)

        back = await ChatClient.open(
            server.ws_url, resume=client.resume_token, last_seq=client.last_seq
        )
        assert back.welcome["resumed"] is True
        unacknowledged = [i for i in sent if i not in client.acks]
        for client_id in unacknowledged:
            await back.message(client_id, sent[client_id])
        for client_id in unacknowledged:
            answer = await back.turn_done(client_id)
            assert answer["type"] == "ack", answer
        assert all(seq > client.last_seq for seq in back.delivered)  # nothing repeated
        await back.close()

    stored: dict[str, list[str]] = {}
    for client, sent in rounds:
        replay = await transcript(server, client.resume_token)
        acked = {k: int(v["seq"]) for k, v in client.acks.items()}
        assert_transcript_sound(replay, acked)
        by_id = {
            m["client_id"]: seq for seq, m in replay.messages.items() if m["role"] == "customer"
        }
        assert set(by_id) == set(sent)  # every message sent is stored (exactly once: above)
        for seq in by_id.values():
            assert len(replay.replies_to(seq)) == 1  # and answered exactly once
        stored[client.conversation_id] = [
            m["content"] for m in replay.messages.values() if m["role"] == "customer"
        ]
        await client.close()
    return stored


def checkpointed_customer_texts(data_dir: Path, conversation_id: str) -> list[str]:
    """What the LangGraph checkpoint remembers the customer saying in a conversation."""
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.sqlite import SqliteSaver

    with sqlite3.connect(data_dir / "loan_agent.db.checkpoints") as connection:
        saver = SqliteSaver(connection)
        found = saver.get_tuple({"configurable": {"thread_id": conversation_id}})
    if found is None:
        return []
    messages = found.checkpoint["channel_values"].get("messages", [])
    return [str(m.content) for m in messages if isinstance(m, HumanMessage)]
