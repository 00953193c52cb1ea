"""Staff sign-in sessions are stored and revocable: logging out, or a supervisor signing a
person out everywhere, ends a session on the server, not just in one browser."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from web_testkit import SECRET, staff_login

from agent.audit.models import AuditEvent
from agent.conversation.models import StaffLogin, StaffUser
from agent.db.types import utcnow
from web.auth import STAFF_COOKIE, open_staff_cookie, seal_staff_token


def another_browser(client: TestClient) -> TestClient:
    """A second client of the same running app, with a cookie jar of its own."""
    return TestClient(client.app)


def staff_id(db: Engine, username: str) -> int:
    with Session(db) as session:
        user = session.exec(select(StaffUser).where(StaffUser.username == username)).one()
        assert user.id is not None
        return user.id


def test_only_a_hash_of_the_session_token_is_stored(client: TestClient, db_engine: Engine) -> None:
    staff_login(client)
    token = open_staff_cookie(SECRET, client.cookies[STAFF_COOKIE], 3600)
    with Session(db_engine) as session:
        rows = session.exec(select(StaffLogin)).all()
    assert [row.id for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in {row.id for row in rows}
    assert rows[0].revoked_at is None and rows[0].expires_at > utcnow()


def test_a_cookie_kept_after_logout_is_refused(client: TestClient, db_engine: Engine) -> None:
    headers = staff_login(client)
    kept = client.cookies[STAFF_COOKIE]
    assert client.post("/api/staff/logout", headers=headers).status_code == 200

    replay = another_browser(client)
    replay.cookies.set(STAFF_COOKIE, kept)
    response = replay.get("/api/staff/me")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "not_authenticated")
    with Session(db_engine) as session:
        row = session.exec(select(StaffLogin)).one()
        kinds = [e.kind for e in session.exec(select(AuditEvent))]
    assert row.revoked_reason == "logged_out"
    assert "staff_login" in kinds and "staff_logout" in kinds


def test_a_well_signed_cookie_for_no_stored_session_is_refused(client: TestClient) -> None:
    forged = another_browser(client)
    forged.cookies.set(STAFF_COOKIE, seal_staff_token(SECRET, "a-token-never-issued"))
    assert forged.get("/api/staff/me").status_code == 401


def test_an_expired_session_is_refused(client: TestClient, db_engine: Engine) -> None:
    staff_login(client)
    with Session(db_engine) as session:
        row = session.exec(select(StaffLogin)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    assert client.get("/api/staff/me").status_code == 401


def test_logging_out_in_one_browser_leaves_the_other_signed_in(client: TestClient) -> None:
    headers = staff_login(client)
    other = another_browser(client)
    staff_login(other)
    client.post("/api/staff/logout", headers=headers)
    assert client.get("/api/staff/me").status_code == 401
    assert other.get("/api/staff/me").status_code == 200


def test_a_supervisor_signs_a_person_out_everywhere(client: TestClient, db_engine: Engine) -> None:
    laptop, phone, colleague = (another_browser(client) for _ in range(3))
    staff_login(laptop)
    staff_login(phone)
    staff_login(colleague, "agent2")
    headers = staff_login(client, "supervisor")
    agent_id = staff_id(db_engine, "agent")

    team = {p["username"]: p for p in client.get("/api/supervisor/staff").json()["staff"]}
    assert team["agent"]["active_sessions"] == 2 and team["agent2"]["active_sessions"] == 1

    with laptop.websocket_connect("/ws/console") as console:
        assert console.receive_json()["type"] == "hello"
        response = client.post(f"/api/supervisor/staff/{agent_id}/sign-out", headers=headers)
        assert response.json() == {"staff_id": agent_id, "sessions_ended": 2}
        frame = console.receive_json()
        while frame["type"] != "error":
            frame = console.receive_json()
        assert frame["code"] == "signed_out"

    assert laptop.get("/api/staff/me").status_code == 401
    assert phone.get("/api/staff/me").status_code == 401
    assert colleague.get("/api/staff/me").status_code == 200  # only that person
    team = {p["username"]: p for p in client.get("/api/supervisor/staff").json()["staff"]}
    assert team["agent"]["active_sessions"] == 0
    with Session(db_engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.kind == "staff_signed_out")).one()
    assert event.actor == "staff:supervisor"
    assert event.payload == {"staff": "agent", "sessions_ended": 2}


def test_signing_out_needs_a_supervisor_and_the_csrf_header(
    client: TestClient, db_engine: Engine
) -> None:
    target = staff_id(db_engine, "agent2")
    headers = staff_login(client, "agent")
    refused = client.post(f"/api/supervisor/staff/{target}/sign-out", headers=headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")

    supervisor = another_browser(client)
    supervisor_headers = staff_login(supervisor, "supervisor")
    no_csrf = supervisor.post(f"/api/supervisor/staff/{target}/sign-out")
    assert no_csrf.json()["error"]["code"] == "csrf_failed"
    unknown = supervisor.post("/api/supervisor/staff/9999/sign-out", headers=supervisor_headers)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_staff")
