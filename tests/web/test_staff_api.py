"""Staff login, CSRF, the queue, atomic claims, replies, hand-back and close."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from web_testkit import PASSWORDS, SECRET, staff_login

from agent.conversation.models import Escalation, Message
from agent.conversation.service import ConversationService
from agent.runtime import Engines
from agent.settings import Settings
from web.app import create_app
from web.auth import mint_customer_token


def service_of(client: TestClient) -> ConversationService:
    return client.app.state.web.service  # type: ignore[attr-defined]


def queued_conversation(client: TestClient, customer_id: str | None = None) -> str:
    """A conversation waiting for a person (verified when ``customer_id`` is given)."""
    service = service_of(client)
    conv = service.start(customer_id=customer_id, verified=customer_id is not None)
    if customer_id:
        service.customer_message(conv.id, "what do I owe?")
    outcome = service.customer_message(conv.id, "I want to speak to a real person")
    assert outcome.state == "queued"
    return conv.id


def test_login_sets_a_strict_httponly_cookie_and_returns_a_csrf_token(client: TestClient) -> None:
    response = client.post(
        "/api/staff/login", json={"username": "agent", "password": PASSWORDS["agent"]}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["staff"] == {
        "id": body["staff"]["id"],
        "username": "agent",
        "display_name": "Alex Rivera",
        "role": "agent",
    }
    cookie = response.headers["set-cookie"].lower()
    assert "hcf_staff=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "password" not in response.text
    me = client.get("/api/staff/me").json()
    assert me["csrf"] == body["csrf"] and me["staff"]["username"] == "agent"


def test_wrong_passwords_then_a_delay(client: TestClient) -> None:
    for _ in range(4):
        wrong = client.post("/api/staff/login", json={"username": "agent", "password": "nope"})
        assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "login_failed")
    unknown = client.post("/api/staff/login", json={"username": "ghost", "password": "nope"})
    assert unknown.json()["error"] == wrong.json()["error"]  # no user enumeration
    client.post("/api/staff/login", json={"username": "agent", "password": "nope"})
    throttled = client.post(
        "/api/staff/login", json={"username": "agent", "password": PASSWORDS["agent"]}
    )
    assert (throttled.status_code, throttled.json()["error"]["code"]) == (429, "login_throttled")
    assert int(throttled.headers["retry-after"]) > 0
    assert client.get("/api/staff/me").status_code == 401


def test_staff_endpoints_need_a_login(client: TestClient) -> None:
    for path in (
        "/api/staff/me",
        "/api/staff/queue",
        "/api/staff/conversations/x",
        "/api/supervisor/overview",
    ):
        response = client.get(path)
        assert (response.status_code, response.json()["error"]["code"]) == (
            401,
            "not_authenticated",
        ), path


def test_state_changes_need_the_csrf_header(client: TestClient) -> None:
    conversation_id = queued_conversation(client)
    headers = staff_login(client)
    path = f"/api/staff/conversations/{conversation_id}/claim"
    missing = client.post(path)
    wrong = client.post(path, headers={"X-CSRF-Token": "guess"})
    assert missing.status_code == wrong.status_code == 403
    assert missing.json()["error"]["code"] == "csrf_failed"
    assert service_of(client).get(conversation_id).state == "queued"  # nothing happened
    assert client.post(path, headers=headers).status_code == 200


def test_the_queue_is_ordered_by_priority_then_wait(client: TestClient) -> None:
    first = queued_conversation(client)
    second = queued_conversation(client)
    service = service_of(client)
    urgent = service.start()
    assert (
        service.customer_message(
            urgent.id, "someone stole my identity, this loan is not mine"
        ).escalation_priority
        == "high"
    )
    staff_login(client)
    items = client.get("/api/staff/queue").json()["items"]
    assert [i["conversation_id"] for i in items] == [urgent.id, first, second]
    assert [i["position"] for i in items] == [1, 2, 3]
    assert items[0]["reason"] == "fraud" and items[1]["reason"] == "human_request"
    assert all(i["waiting_seconds"] >= 0 for i in items)


def test_claim_shows_transcript_handoff_packet_and_ledger(client: TestClient) -> None:
    conversation_id = queued_conversation(client, customer_id="C100")
    headers = staff_login(client)
    detail = client.post(
        f"/api/staff/conversations/{conversation_id}/claim", headers=headers
    ).json()
    conv = detail["conversation"]
    assert (conv["state"], conv["assigned_to"]["display_name"], conv["customer_name"]) == (
        "human",
        "Alex Rivera",
        "Maria Lopez",
    )
    packet = detail["handoff"]["packet"]
    assert packet["reason"] == "human_request" and packet["priority"] == "normal"
    assert packet["verification"]["verified"] is True and packet["summary"]
    assert [loan["loan_id"] for loan in packet["loans"]] == ["L100"]
    assert "assistant_actions" in packet
    ledger = detail["ledger"]
    assert ledger["customer"]["name"] == "Maria Lopez"
    assert "date_of_birth" not in ledger["customer"]
    assert ledger["loans"][0]["past_due_amount"] == "$165.00"
    roles = [m["role"] for m in detail["transcript"]]
    assert roles[-1] == "system" and "joined" in detail["transcript"][-1]["content"]


def test_an_unverified_conversation_shows_no_ledger(client: TestClient) -> None:
    conversation_id = queued_conversation(client)
    staff_login(client)
    detail = client.get(f"/api/staff/conversations/{conversation_id}").json()
    assert detail["ledger"] is None
    assert detail["handoff"]["packet"]["verification"]["verified"] is False


def test_claiming_a_closed_or_taken_conversation_is_refused(
    client: TestClient, web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    conversation_id = queued_conversation(client)
    headers = staff_login(client)
    path = f"/api/staff/conversations/{conversation_id}/claim"
    assert client.post(path, headers=headers).status_code == 200
    with TestClient(client.app) as other:  # a second agent, own cookies
        other_headers = staff_login(other, "agent2")
        taken = other.post(path, headers=other_headers)
        assert (taken.status_code, taken.json()["error"]["code"]) == (409, "not_claimable")
        not_yours = other.post(
            f"/api/staff/conversations/{conversation_id}/messages",
            json={"text": "hi"},
            headers=other_headers,
        )
        assert (not_yours.status_code, not_yours.json()["error"]["code"]) == (403, "not_yours")
    closed = client.post(
        f"/api/staff/conversations/{conversation_id}/close",
        json={"disposition": "resolved"},
        headers=headers,
    )
    assert closed.json()["state"] == "closed"
    again = client.post(path, headers=headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_claimable")
    assert "closed" in again.json()["error"]["message"]
    close_again = client.post(
        f"/api/staff/conversations/{conversation_id}/close",
        json={"disposition": "resolved"},
        headers=headers,
    )
    assert close_again.status_code == 409
    missing = client.post("/api/staff/conversations/nope/claim", headers=headers)
    assert missing.status_code == 404


@pytest.fixture
def file_client(web_settings: Settings, engines: Engines, file_db: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings, engines, file_db)) as test_client:
        yield test_client


def test_claiming_is_atomic_under_a_race(file_client: TestClient, file_db: Engine) -> None:
    conversation_id = queued_conversation(file_client)
    app = file_client.app
    clients = [TestClient(app), TestClient(app), TestClient(app)]
    headers = [
        staff_login(c, name)
        for c, name in zip(clients, ("agent", "agent2", "supervisor"), strict=True)
    ]
    barrier = threading.Barrier(len(clients))
    results: list[int] = []

    def claim(c: TestClient, h: dict[str, str]) -> None:
        barrier.wait()
        results.append(
            c.post(f"/api/staff/conversations/{conversation_id}/claim", headers=h).status_code
        )

    threads = [
        threading.Thread(target=claim, args=pair) for pair in zip(clients, headers, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409, 409]
    with Session(file_db) as session:
        joined = session.exec(
            select(Message).where(
                Message.conversation_id == conversation_id, col(Message.content).contains("joined")
            )
        ).all()
    assert len(joined) == 1


def test_reply_suggestions_hand_back_and_close(client: TestClient, db_engine: Engine) -> None:
    conversation_id = queued_conversation(client, customer_id="C100")
    headers = staff_login(client)
    client.post(f"/api/staff/conversations/{conversation_id}/claim", headers=headers)

    suggestions = client.get(f"/api/staff/conversations/{conversation_id}/suggestions").json()
    assert suggestions["suggestions"] and all(
        isinstance(s, str) for s in suggestions["suggestions"]
    )
    assert any("L100" in s for s in suggestions["suggestions"])  # grounded in the ledger

    drafted = client.post(
        f"/api/staff/conversations/{conversation_id}/messages",
        json={"text": suggestions["suggestions"][0] + " (edited)", "ai_drafted": True},
        headers=headers,
    ).json()["message"]
    assert (drafted["role"], drafted["author"], drafted["ai_drafted"]) == (
        "agent",
        "Alex Rivera",
        True,
    )
    typed = client.post(
        f"/api/staff/conversations/{conversation_id}/messages",
        json={"text": "Anything else?"},
        headers=headers,
    ).json()["message"]
    assert typed["ai_drafted"] is False
    empty = client.post(
        f"/api/staff/conversations/{conversation_id}/messages", json={"text": ""}, headers=headers
    )
    assert empty.status_code == 422

    back = client.post(f"/api/staff/conversations/{conversation_id}/handback", headers=headers)
    assert back.json() == {"conversation_id": conversation_id, "state": "ai"}
    detail = client.get(f"/api/staff/conversations/{conversation_id}").json()
    assert "assistant again" in detail["transcript"][-1]["content"]
    assert client.get("/api/staff/queue").json()["mine"] == []

    reply = service_of(client).customer_message(conversation_id, "what do I owe?")
    assert reply.replies[0].role == "assistant" and "$165.00" in reply.reply_text

    closed = client.post(
        f"/api/staff/conversations/{conversation_id}/close",
        json={"disposition": "promise_to_pay"},
        headers=headers,
    ).json()
    assert (closed["state"], closed["disposition"]) == ("closed", "promise_to_pay")
    with Session(db_engine) as session:
        escalation = session.exec(
            select(Escalation).where(Escalation.conversation_id == conversation_id)
        ).one()
    assert escalation.claimed_by is not None and escalation.resolved_at is not None


def test_logout_ends_the_session(client: TestClient) -> None:
    headers = staff_login(client)
    assert client.post("/api/staff/logout", headers=headers).status_code == 200
    assert client.get("/api/staff/me").status_code == 401


def test_an_agent_is_not_a_supervisor(client: TestClient) -> None:
    staff_login(client)
    response = client.get("/api/supervisor/overview")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")


def test_the_console_socket_pushes_the_queue_and_the_watched_transcript(client: TestClient) -> None:
    headers = staff_login(client)
    with client.websocket_connect("/ws/console") as console:
        assert console.receive_json()["staff"]["display_name"] == "Alex Rivera"
        assert console.receive_json() == {
            "type": "queue",
            "items": [],
            "mine": [],
            "staff_online": True,
        }
        conversation_id = queued_conversation(client, customer_id="C100")
        frame = console.receive_json()
        assert [i["conversation_id"] for i in frame["items"]] == [conversation_id]
        assert frame["items"][0]["customer_name"] == "Maria Lopez"

        client.post(f"/api/staff/conversations/{conversation_id}/claim", headers=headers)
        console.send_json({"type": "watch", "conversation_id": conversation_id, "last_seq": 0})
        seen: list[int] = []
        queue_frame = None
        while len(seen) < 6 or queue_frame is None or not queue_frame["mine"]:
            frame = console.receive_json()
            if frame["type"] == "message":
                seen.append(frame["message"]["seq"])
            elif frame["type"] == "queue":
                queue_frame = frame
        assert seen == [1, 2, 3, 4, 5, 6]  # the whole transcript, in order, once
        service_of(client).customer_message(conversation_id, "are you there?")
        frame = console.receive_json()
        while frame["type"] != "message":
            frame = console.receive_json()
        assert (frame["message"]["seq"], frame["message"]["role"]) == (7, "customer")
        assert queue_frame["mine"][0]["conversation_id"] == conversation_id


def test_demo_token_endpoint_mints_a_working_token(client: TestClient) -> None:
    customers = client.get("/api/demo/customers").json()["customers"]
    assert {"id": "C100", "name": "Maria Lopez"} in customers
    minted = client.post("/api/demo/customer-token", json={"customer_id": "C100"}).json()
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "hello", "token": minted["token"]})
        assert ws.receive_json()["verified"] is True
    assert client.post("/api/demo/customer-token", json={"customer_id": "C999"}).status_code == 404


def test_demo_helpers_are_off_in_production(
    web_settings: Settings, engines: Engines, db_engine: Engine
) -> None:
    production = web_settings.model_copy(update={"environment": "production", "demo": False})
    with TestClient(create_app(production, engines, db_engine)) as client:
        assert client.get("/api/demo/customers").status_code == 404
        assert (
            client.post("/api/demo/customer-token", json={"customer_id": "C100"}).status_code == 404
        )
        # A real lender's token still works.
        with client.websocket_connect("/ws/chat") as ws:
            ws.send_json({"type": "hello", "token": mint_customer_token(SECRET, "C100")})
            assert ws.receive_json()["verified"] is True
