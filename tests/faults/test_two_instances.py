"""Two ``loan-agent serve`` processes on one PostgreSQL database and one Redis: a customer on
one and the person helping them on the other see each other live; one conversation written
through both at the same moment keeps one order, stores every message once and answers
without an error; ``serve --workers 2`` runs two server processes on one port."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from websockets.asyncio.client import connect

from agent.db.advisory_lock import count_instances, libpq_conninfo
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.faults.kit import (
    FRAME_TIMEOUT,
    ChatClient,
    Server,
    Staff,
    assert_transcript_sound,
    transcript,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

SECRET = "two-instances-secret-key-0123456789abcdef"  # one key: tokens work on both


def shared_env(postgres_url: str, database: str, redis_url: str) -> dict[str, str]:
    url = make_url(postgres_url).set(database=database)
    return {
        "LOAN_AGENT_DATABASE_URL": url.render_as_string(hide_password=False),
        "LOAN_AGENT_REDIS_URL": redis_url,
        "LOAN_AGENT_SECRET_KEY": SECRET,
        "LOAN_AGENT_TURN_WORKERS": "0",
    }


@pytest.fixture(scope="module")
def database(postgres_available: str) -> Iterator[str]:
    name = create_postgres_database(postgres_available)
    yield name
    drop_postgres_database(postgres_available, name)


@pytest.fixture(scope="module")
def instances(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_available: str,
    redis_available: str,
    database: str,
) -> Iterator[tuple[Server, Server]]:
    env = shared_env(postgres_available, database, redis_available)
    a = Server(tmp_path_factory.mktemp("instance-a"), env)
    b = Server(tmp_path_factory.mktemp("instance-b"), env)
    a.start()
    try:
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


class Console:
    """The agent console's socket, with the staff session cookie of ``staff``."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, server: Server, staff: Staff) -> Console:
        cookie = "; ".join(f"{k}={v}" for k, v in staff.client.cookies.items())
        ws = await connect(
            f"ws://127.0.0.1:{server.port}/ws/console",
            additional_headers={"Cookie": cookie, "Origin": server.base_url},
            open_timeout=FRAME_TIMEOUT,
        )
        return cls(ws)

    async def until(self, predicate: Any, what: str) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            while True:
                frame = json.loads(await self.ws.recv())
                self.frames.append(frame)
                if predicate(frame):
                    return frame

        try:
            return await asyncio.wait_for(read(), FRAME_TIMEOUT)
        except TimeoutError:
            raise AssertionError(f"console: no {what}; last frames {self.frames[-5:]}") from None


def in_queue(conversation_id: str) -> Any:
    return lambda f: (
        f["type"] == "queue" and conversation_id in {i["conversation_id"] for i in f["items"]}
    )


async def state(client: ChatClient, wanted: str) -> None:
    await client.wait(
        lambda: any(f.get("type") == "state" and f.get("state") == wanted for f in client.frames),
        what=f"state {wanted}",
    )


def text_seen(client: ChatClient, role: str, text: str) -> bool:
    return any(m["role"] == role and m["content"] == text for m in client.messages.values())


def test_a_customer_on_one_instance_and_a_person_on_the_other_see_each_other_live(
    instances: tuple[Server, Server],
) -> None:
    a, b = instances
    agent = b.staff("agent")

    async def scenario() -> tuple[ChatClient, dict[str, int]]:
        console = await Console.open(b, agent)
        customer = await ChatClient.open(a.ws_url, token=a.customer_token("C100"))
        acked: dict[str, int] = {}
        try:
            await customer.message("ask", "I want to talk to a person")
            acked["ask"] = int((await customer.turn_done("ask"))["seq"])
            await state(customer, "queued")
            # The escalation happened on A; B's console is told, not polled.
            await console.until(in_queue(customer.conversation_id), "the new escalation")

            claim = await asyncio.to_thread(
                agent.client.post, f"/api/staff/conversations/{customer.conversation_id}/claim"
            )
            assert claim.status_code == 200, claim.text
            await state(customer, "human")  # the claim on B reaches the customer on A

            await console.ws.send(
                json.dumps(
                    {"type": "watch", "conversation_id": customer.conversation_id, "last_seq": 0}
                )
            )
            await customer.message("there", "are you there?")
            acked["there"] = int((await customer.answer("there"))["seq"])
            await console.until(
                lambda f: f["type"] == "message" and f["message"]["content"] == "are you there?",
                "the customer's message from the other instance",
            )

            # Both write at the same moment, through different instances.
            staff_send = asyncio.to_thread(
                agent.client.post,
                f"/api/staff/conversations/{customer.conversation_id}/messages",
                json={"text": "Yes, I'm here. Let me look at your account."},
            )
            sent, _ = await asyncio.gather(staff_send, customer.message("more", "thank you"))
            assert sent.status_code == 200, sent.text
            answer = await customer.answer("more")
            assert answer["type"] == "ack", answer
            acked["more"] = int(answer["seq"])
            await customer.wait(
                lambda: text_seen(customer, "agent", "Yes, I'm here. Let me look at your account."),
                what="the person's message from the other instance",
            )
            return customer, acked
        finally:
            await console.ws.close()
            await customer.close()

    customer, acked = asyncio.run(scenario())
    whole = asyncio.run(transcript(a, customer.resume_token))
    assert_transcript_sound(whole, acked)
    assert "Internal Server Error" not in a.log() + b.log()


def test_one_conversation_written_through_both_instances_at_once(
    instances: tuple[Server, Server],
) -> None:
    a, b = instances

    async def scenario() -> tuple[ChatClient, ChatClient, dict[str, int]]:
        on_a = await ChatClient.open(a.ws_url, token=a.customer_token("C101"))
        on_b = await ChatClient.open(b.ws_url, resume=on_a.resume_token, last_seq=on_a.last_seq)
        assert on_b.conversation_id == on_a.conversation_id
        acked: dict[str, int] = {}
        try:
            for round_ in range(3):
                first, second = f"a{round_}", f"b{round_}"
                await asyncio.gather(
                    on_a.message(first, "When is my next payment due?"),
                    on_b.message(second, "How much do I owe right now?"),
                )
                answers = [await on_a.turn_done(first), await on_b.turn_done(second)]
                assert [x["type"] for x in answers] == ["ack", "ack"], answers
                acked[first], acked[second] = (int(x["seq"]) for x in answers)

            # The same message (one client id) sent to both at once, as a widget that
            # reconnected to the other instance would resend it: stored once, both acked.
            await asyncio.gather(
                on_a.message("same", "What's my payoff amount?"),
                on_b.message("same", "What's my payoff amount?"),
            )
            same = [await on_a.turn_done("same"), await on_b.turn_done("same")]
            assert [x["type"] for x in same] == ["ack", "ack"], same
            assert same[0]["seq"] == same[1]["seq"]
            acked["same"] = int(same[0]["seq"])

            # Each socket sees, live, what was written through the other instance.
            last = max(acked.values())
            for client in (on_a, on_b):
                await client.wait(lambda c=client: last in c.messages, what=f"message {last}")
            return on_a, on_b, acked
        finally:
            await on_a.close()
            await on_b.close()

    on_a, on_b, acked = asyncio.run(scenario())
    assert on_a.errors == {} and on_b.errors == {}
    whole = asyncio.run(transcript(b, on_a.resume_token))
    assert_transcript_sound(whole, acked)
    for client_id, seq in acked.items():  # every customer message got its one answer
        assert len(whole.replies_to(seq)) == 1, client_id


def _instances_on(database_url: str) -> int:
    import psycopg

    with psycopg.connect(libpq_conninfo(database_url), autocommit=True) as connection:
        return count_instances(connection)


def test_serve_with_two_worker_processes(
    tmp_path: Path, postgres_available: str, redis_available: str, postgres_database: str
) -> None:
    env = shared_env(postgres_available, postgres_database, redis_available)
    server = Server(tmp_path, env, args=["--workers", "2"]).start()
    try:
        deadline = time.monotonic() + FRAME_TIMEOUT
        while _instances_on(env["LOAN_AGENT_DATABASE_URL"]) < 2:  # both have started
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)

        async def chats() -> list[dict[str, Any]]:
            clients = [
                await ChatClient.open(server.ws_url, token=server.customer_token(customer))
                for customer in ("C102", "C103", "C104", "C105")
            ]
            try:
                for n, client in enumerate(clients):
                    await client.message(f"m{n}", "When is my next payment due?")
                return [await c.turn_done(f"m{n}") for n, c in enumerate(clients)]
            finally:
                for client in clients:
                    await client.close()

        assert [x["type"] for x in asyncio.run(chats())] == ["ack"] * 4
    finally:
        server.stop()
    assert "without Redis" not in server.log()
