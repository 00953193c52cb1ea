"""The demo payment page: shows the link, records the payment once, refuses clearly."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from agent.audit.models import AuditEvent
from agent.db.types import utcnow
from agent.ledger import repository as repo
from agent.ledger.models import Loan, Payment, PaymentLink
from agent.runtime import Engines
from agent.settings import Settings
from web.app import create_app


def make_link(db: Engine, amount: str = "165.00", hours: int = 24) -> PaymentLink:
    with Session(db) as session:
        link = repo.create_payment_link(
            session, "L100", Decimal(amount), utcnow(), hours, "http://127.0.0.1:8000/pay", None
        )
        session.commit()
        session.refresh(link)
        return link


def test_the_page_is_labelled_demo(client: TestClient, db_engine: Engine) -> None:
    link = make_link(db_engine)
    page = client.get(f"/pay/{link.id}")
    assert page.status_code == 200 and "DEMO" in page.text and "Pay (demo)" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    shown = client.get(f"/api/pay/{link.id}").json()
    assert (shown["status"], shown["loan_id"], shown["amount"]) == ("open", "L100", "$165.00")


def test_paying_records_the_payment_once(client: TestClient, db_engine: Engine) -> None:
    link = make_link(db_engine)
    with Session(db_engine) as session:
        principal_before = session.get(Loan, "L100").principal_balance  # type: ignore[union-attr]
    paid = client.post(f"/api/pay/{link.id}", json={})
    assert paid.status_code == 200
    assert paid.json()["status"] == "paid" and paid.json()["amount"] == "$165.00"
    again = client.post(f"/api/pay/{link.id}", json={})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "link_used")
    assert "already used" in again.json()["error"]["message"]
    assert client.get(f"/api/pay/{link.id}").json()["status"] == "used"
    with Session(db_engine) as session:
        payments = session.exec(select(Payment).where(Payment.payment_link_id == link.id)).all()
        loan = session.get(Loan, "L100")
        audit = session.exec(select(AuditEvent).where(AuditEvent.kind == "payment_received")).all()
    assert [p.amount for p in payments] == [Decimal("165.00")]
    assert loan is not None and loan.principal_balance < principal_before
    assert len(audit) == 1


def test_expired_and_unknown_links_answer_clearly(client: TestClient, db_engine: Engine) -> None:
    link = make_link(db_engine)
    with Session(db_engine) as session:
        stored = session.get(PaymentLink, link.id)
        assert stored is not None
        stored.expires_at = utcnow() - timedelta(minutes=1)
        session.add(stored)
        session.commit()
    assert client.get(f"/api/pay/{link.id}").json()["status"] == "expired"
    expired = client.post(f"/api/pay/{link.id}", json={})
    assert (expired.status_code, expired.json()["error"]["code"]) == (410, "link_expired")
    unknown = client.post("/api/pay/not-a-real-token-123", json={})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_link")
    with Session(db_engine) as session:
        assert session.exec(select(Payment)).all() == []


def test_two_simultaneous_payments_record_one(
    web_settings: Settings, engines: Engines, file_db: Engine
) -> None:
    link = make_link(file_db)
    barrier = threading.Barrier(4)
    codes: list[int] = []
    with TestClient(create_app(web_settings, engines, file_db)) as client:

        def pay() -> None:
            barrier.wait()
            codes.append(client.post(f"/api/pay/{link.id}", json={}).status_code)

        threads = [threading.Thread(target=pay) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(codes) == [200, 409, 409, 409]
    with Session(file_db) as session:
        assert len(session.exec(select(Payment)).all()) == 1


def test_the_chat_that_sent_the_link_is_told_of_the_payment(
    client: TestClient, db_engine: Engine
) -> None:
    service = client.app.state.web.service  # type: ignore[attr-defined]
    conv = service.start(customer_id="C100", verified=True)
    service.customer_message(conv.id, "send me a link to pay $165")
    with Session(db_engine) as session:
        link = session.exec(select(PaymentLink).where(PaymentLink.conversation_id == conv.id)).one()
    paid = client.post(f"/api/pay/{link.id}", json={}).json()
    assert "conversation_id" not in paid  # not part of the page's answer

    last = service.transcript(conv.id)[-1]
    assert last.role == "system"
    assert f"Payment received: {paid['amount']} on loan L100" in last.content
    # A closed conversation gets nothing more; the payment still goes through.
    service.close(conv.id, None, "resolved")
    closed_count = len(service.transcript(conv.id))
    other = make_link(db_engine)
    with Session(db_engine) as session:
        row = session.get(PaymentLink, other.id)
        assert row is not None
        row.conversation_id = conv.id
        session.add(row)
        session.commit()
    assert client.post(f"/api/pay/{other.id}", json={}).status_code == 200
    assert len(service.transcript(conv.id)) == closed_count
