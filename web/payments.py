"""The demo payment page's logic: show a one-time link, record its payment exactly once."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from agent.audit.log import append_event
from agent.ledger import repository as repo
from agent.ledger.models import Customer, Loan, PaymentLink
from agent.policy.formatting import format_date, format_money

# SQLite (one process) serialises here; PostgreSQL (several instances) by the row lock.
_pay_lock = threading.Lock()


class PaymentRefused(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _status(link: PaymentLink, now: datetime) -> str:
    if link.used_at is not None:
        return "used"
    if link.expires_at <= now:
        return "expired"
    return "open"


def _today(session: Session, link: PaymentLink, now: datetime) -> Any:
    loan = session.get(Loan, link.loan_id)
    customer = session.get(Customer, loan.customer_id) if loan else None
    zone = ZoneInfo(customer.timezone if customer else "America/New_York")
    return now.astimezone(zone).date()


def link_view(session: Session, token: str, now: datetime) -> dict[str, Any]:
    link = session.get(PaymentLink, token) if 8 <= len(token) <= 64 else None
    if link is None:
        raise PaymentRefused("unknown_link", "This payment link is not valid.")
    status = _status(link, now)
    return {
        "status": status,
        "loan_id": link.loan_id,
        "amount": format_money(link.amount),
        "expires_at": link.expires_at.isoformat(),
        "expires_on": format_date(link.expires_at.date()),
        "used_at": link.used_at.isoformat() if link.used_at else None,
        "message": {
            "open": "This is a demo: no money moves. Pressing Pay records the payment "
            "on the demo ledger.",
            "used": "This payment link was already used; the payment was recorded.",
            "expired": "This payment link has expired. Ask the assistant in the chat for a "
            "new one.",
        }[status],
    }


def pay(session: Session, token: str, now: datetime) -> dict[str, Any]:
    """Record the link's payment once; a used or expired link is refused clearly."""
    with _pay_lock:
        link = session.exec(
            select(PaymentLink).where(PaymentLink.id == token).with_for_update()
        ).first()
        if link is None:
            raise PaymentRefused("unknown_link", "This payment link is not valid.")
        status = _status(link, now)
        if status == "used":
            raise PaymentRefused("link_used", "This payment link was already used.")
        if status == "expired":
            raise PaymentRefused(
                "link_expired",
                "This payment link has expired. Ask the assistant in the chat for a new one.",
            )
        payment = repo.apply_payment(session, link, _today(session, link, now), now)
        append_event(
            session,
            "payment_received",
            "customer",
            {
                "loan_id": link.loan_id,
                "amount": str(link.amount),
                "payment_link": link.id[:6] + "…",
                "demo": True,
            },
            link.conversation_id,
        )
        session.commit()
    return {
        "status": "paid",
        "loan_id": payment.loan_id,
        "amount": format_money(payment.amount),
        "received_on": format_date(payment.received_on),
        "conversation_id": link.conversation_id,  # the chat that sent the link, if any
    }
