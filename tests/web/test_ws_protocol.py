"""The chat socket's protocol over FastAPI's TestClient: acks, dedup, resume, auth, handoff."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from web_testkit import SECRET, ChatSocket, messages, staff_login

from agent.conversation.models import Conversation, Message
from agent.ledger.models import PromiseToPay
from web.auth import mint_customer_token


def transcript(db: Engine, conversation_id: str) -> list[Message]:
    with Session(db) as session:
        return list(
            session.exec(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.seq))
            )
        )


def test_a_message_is_acked_answered_and_disclosed(client: TestClient, db_engine: Engine) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        welcome = chat.hello()
        assert welcome["type"] == "welcome" and welcome["v"] == 1
        assert welcome["state"] == "ai" and welcome["verified"] is False
        assert welcome["resume"] and welcome["resumed"] is False
        assert welcome["link_domains"] == ["harborcf.example"]  # links the widget may open

        frames = chat.say("hello", "m-1")

    ack = next(f for f in frames if f["type"] == "ack")
    assert ack == {"type": "ack", "id": "m-1", "seq": 1, "duplicate": False}
    sent = messages(frames)
    assert [(m["seq"], m["role"]) for m in sent] == [(1, "customer"), (2, "assistant")]
    assert sent[0]["client_id"] == "m-1" and sent[0]["content"] == "hello"
    assert "automated assistant" in sent[1]["content"]  # the disclosure, first reply
    typing = [f["on"] for f in frames if f["type"] == "typing"]
    assert typing == [True, False]
    stored = transcript(db_engine, welcome["conversation_id"])
    assert [(m.seq, m.role, m.client_message_id) for m in stored] == [
        (1, "customer", "m-1"),
        (2, "assistant", None),
    ]


def test_a_repeated_client_id_is_acked_as_duplicate_and_stored_once(
    client: TestClient, db_engine: Engine
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        conversation_id = chat.hello()["conversation_id"]
        first = chat.say("hi there", "same-id")
        again = chat.say("hi there", "same-id")

    assert next(f for f in first if f["type"] == "ack")["duplicate"] is False
    ack = next(f for f in again if f["type"] == "ack")
    assert ack["duplicate"] is True and ack["seq"] == 1
    assert messages(again) == []  # nothing new to deliver
    assert [m.role for m in transcript(db_engine, conversation_id)] == ["customer", "assistant"]


def test_resume_delivers_exactly_the_missed_messages(client: TestClient, db_engine: Engine) -> None:
    headers = staff_login(client)
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        welcome = chat.hello()
        conversation_id = welcome["conversation_id"]
        frames = chat.say("I want to talk to a person", "m-1")
        seen = max(m["seq"] for m in messages(frames))
        chat.wait(lambda f: f["type"] == "state" and f["state"] == "queued")

    # While the customer is away: an agent claims and writes twice.
    assert (
        client.post(
            f"/api/staff/conversations/{conversation_id}/claim", headers=headers
        ).status_code
        == 200
    )
    for text in ("Hi, this is Alex.", "Are you still there?"):
        response = client.post(
            f"/api/staff/conversations/{conversation_id}/messages",
            json={"text": text},
            headers=headers,
        )
        assert response.status_code == 200

    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        again = chat.hello(resume=welcome["resume"], last_seq=seen)
        assert again["conversation_id"] == conversation_id and again["resumed"] is True
        assert again["state"] == "human"
        missed = [chat.recv() for _ in range(3)]
        chat.send({"type": "ping"})
        assert chat.recv() == {"type": "pong"}  # nothing else was queued before the pong

    stored = [m for m in transcript(db_engine, conversation_id) if m.seq > seen]
    assert [f["message"]["seq"] for f in missed] == [m.seq for m in stored]
    assert [(f["message"]["role"], f["message"]["author"]) for f in missed] == [
        ("system", None),
        ("agent", "Alex Rivera"),
        ("agent", "Alex Rivera"),
    ]
    assert "joined" in missed[0]["message"]["content"]


def test_resume_from_zero_replays_the_whole_transcript(
    client: TestClient, db_engine: Engine
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        welcome = chat.hello()
        chat.say("hello", "a")
        chat.say("what can you do?", "b")
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        assert chat.hello(resume=welcome["resume"], last_seq=0)["resumed"] is True
        replay = [chat.recv()["message"] for _ in range(4)]
    assert [m["seq"] for m in replay] == [1, 2, 3, 4]
    assert [m.get("client_id") for m in replay] == ["a", None, "b", None]


def test_a_signed_customer_token_starts_a_verified_conversation(
    client: TestClient, db_engine: Engine
) -> None:
    token = mint_customer_token(SECRET, "C100")
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        welcome = chat.hello(token=token)
        assert welcome["verified"] is True
        frames = chat.say("I can pay the past due amount this Friday", "p-1")
        proposal = messages(frames)[-1]["content"]
        assert "promise to pay" in proposal and "$165.00" in proposal
        done = messages(chat.say("yes", "p-2"))[-1]["content"]
        assert "recorded" in done
    with Session(db_engine) as session:
        conv = session.get(Conversation, welcome["conversation_id"])
        assert conv is not None and conv.customer_id == "C100" and conv.verified
        promises = session.exec(select(PromiseToPay).where(PromiseToPay.loan_id == "L100")).all()
    assert [(str(p.amount), p.status) for p in promises] == [("165.00", "open")]


def test_a_resume_token_does_not_cross_customers(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        first = ChatSocket(ws).hello(token=mint_customer_token(SECRET, "C100"))
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        chat.send(
            {
                "type": "hello",
                "token": mint_customer_token(SECRET, "C101"),
                "resume": first["resume"],
                "last_seq": 0,
            }
        )
        rejected, welcome = chat.recv(), chat.recv()
    assert rejected["type"] == "error" and rejected["code"] == "resume_rejected"
    assert rejected["fatal"] is False
    assert welcome["type"] == "welcome" and welcome["resumed"] is False
    assert welcome["conversation_id"] != first["conversation_id"]


def test_a_forged_resume_token_starts_a_new_conversation(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        first = ChatSocket(ws).hello()
    forged = first["resume"][:-4] + ("AAAA" if not first["resume"].endswith("AAAA") else "BBBB")
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        chat.send({"type": "hello", "resume": forged, "last_seq": 0})
        assert chat.recv()["code"] == "resume_rejected"
        welcome = chat.recv()
    assert welcome["conversation_id"] != first["conversation_id"]


def test_nobody_online_is_said_honestly(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        chat.hello()
        chat.send({"type": "request_human", "id": "h-1"})
        frames = chat.until_all(
            lambda f: f["type"] == "queue", lambda f: f["type"] == "ack" and f["id"] == "h-1"
        )
    assert any(f["type"] == "state" and f["state"] == "queued" for f in frames)
    notice = messages(frames)[-1]
    assert notice["role"] == "system" and "isn't online" in notice["content"]
    queue = next(f for f in frames if f["type"] == "queue")
    assert queue == {
        "type": "queue",
        "position": 1,
        "staff_online": False,
        "estimated_wait_minutes": None,
    }


def test_queue_position_and_wait_when_someone_is_online(client: TestClient) -> None:
    staff_login(client)
    with (
        client.websocket_connect("/ws/console") as console,
        client.websocket_connect("/ws/chat") as ws,
    ):
        assert console.receive_json()["type"] == "hello"  # an open console is "online"
        chat = ChatSocket(ws)
        chat.hello()
        chat.send({"type": "request_human", "id": "h-1"})
        frames = chat.until_all(
            lambda f: f["type"] == "queue", lambda f: f["type"] == "ack" and f["id"] == "h-1"
        )
        chat.send({"type": "request_human", "id": "h-2"})  # already waiting: a no-op
        repeat = chat.until(lambda f: f["type"] == "ack" and f["id"] == "h-2")
    assert "number 1 in line" in messages(frames)[-1]["content"]
    queue = next(f for f in frames if f["type"] == "queue")
    assert queue["position"] == 1 and queue["staff_online"] is True
    assert queue["estimated_wait_minutes"] >= 1
    assert repeat[-1] == {"type": "ack", "id": "h-2", "seq": None, "duplicate": True}


def test_the_ai_is_silent_while_queued_or_with_a_person(
    client: TestClient, db_engine: Engine
) -> None:
    headers = staff_login(client)
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        conversation_id = chat.hello()["conversation_id"]
        chat.say("can I speak to a human please", "m-1")
        chat.wait(lambda f: f["type"] == "state" and f["state"] == "queued")

        queued = chat.say("what is my balance?", "m-2")
        assert [m["role"] for m in messages(queued)] == ["customer"]
        assert not any(f["type"] == "typing" for f in queued)

        assert (
            client.post(
                f"/api/staff/conversations/{conversation_id}/claim", headers=headers
            ).status_code
            == 200
        )
        chat.until(lambda f: f["type"] == "state" and f["state"] == "human")
        with_person = chat.say("hello?", "m-3")
        assert [m["role"] for m in messages(with_person)] == ["customer"]

        client.post(
            f"/api/staff/conversations/{conversation_id}/messages",
            json={"text": "Hi, I'm here to help.", "ai_drafted": True},
            headers=headers,
        )
        agent = chat.until(lambda f: f["type"] == "message")[-1]["message"]
        assert (agent["role"], agent["author"], agent["ai_drafted"]) == (
            "agent",
            "Alex Rivera",
            True,
        )

        assert (
            client.post(
                f"/api/staff/conversations/{conversation_id}/handback", headers=headers
            ).status_code
            == 200
        )
        boundary = chat.until(lambda f: f["type"] == "state")
        assert messages(boundary)[-1]["role"] == "system"
        assert "automated assistant again" in messages(boundary)[-1]["content"]
        assert boundary[-1]["state"] == "ai"

        after = chat.say("how do payment links work?", "m-4")
        assert [m["role"] for m in messages(after)] == ["customer", "assistant"]

    stored = transcript(db_engine, conversation_id)
    queued_at = next(i for i, m in enumerate(stored) if m.role == "system")
    back_at = next(i for i, m in enumerate(stored) if "assistant again" in m.content)
    between = [(m.role, m.content) for m in stored[queued_at:back_at]]
    assert [r for r, _ in between if r == "assistant"] == []  # silent while queued/human
    assert ("customer", "what is my balance?") in between and ("customer", "hello?") in between


def test_end_then_rate(client: TestClient, db_engine: Engine) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        conversation_id = chat.hello()["conversation_id"]
        chat.say("hello", "m-1")
        chat.send({"type": "rate", "id": "r-0", "rating": 4})
        early = chat.until(lambda f: f["type"] == "error")[-1]
        assert (early["code"], early["id"]) == ("not_closed", "r-0")

        chat.send({"type": "end", "id": "e-1"})
        ended = chat.until(lambda f: f["type"] == "state")
        assert ended[-1]["state"] == "closed"
        assert messages(ended)[-1]["content"] == "This conversation has been closed."

        chat.send({"type": "rate", "id": "r-1", "rating": 5, "comment": "Quick and clear"})
        assert chat.until(lambda f: f["type"] == "ack" and f["id"] == "r-1")
        closed = chat.say("one more thing", "m-2")[-1]
        assert (closed["type"], closed["code"]) == ("error", "conversation_closed")

    with Session(db_engine) as session:
        conv = session.get(Conversation, conversation_id)
        assert conv is not None
        assert (conv.state, conv.rating, conv.rating_comment, conv.disposition) == (
            "closed",
            5,
            "Quick and clear",
            "ended_by_customer",
        )
    assert [m.content for m in transcript(db_engine, conversation_id)].count("one more thing") == 0


def test_the_agent_typing_reaches_the_customer(client: TestClient) -> None:
    headers = staff_login(client)
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        conversation_id = chat.hello()["conversation_id"]
        chat.send({"type": "request_human", "id": "h"})
        chat.until(lambda f: f["type"] == "queue")
        client.post(f"/api/staff/conversations/{conversation_id}/claim", headers=headers)
        chat.until(lambda f: f["type"] == "state")
        with client.websocket_connect("/ws/console") as console:
            assert console.receive_json()["type"] == "hello"
            console.send_json({"type": "typing", "conversation_id": conversation_id})
            typing = chat.until(lambda f: f["type"] == "typing")[-1]
    assert typing == {"type": "typing", "on": True, "who": "agent", "author": "Alex Rivera"}
