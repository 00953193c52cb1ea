"""The customer's ledger as the console shows it (no date of birth)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from agent.ledger import repository as repo
from agent.ledger.models import PaymentLink, PromiseToPay
from agent.policy.calculations import (
    days_past_due,
    next_installment,
    past_due_amount,
    payoff_amount,
    unpaid_fees,
)
from agent.policy.config import PolicyConfig
from agent.policy.formatting import format_date, format_money


def customer_ledger(
    session: Session, customer_id: str, policy: PolicyConfig, now: datetime
) -> dict[str, Any] | None:
    customer = repo.get_customer(session, customer_id)
    if customer is None:
        return None
    today = now.astimezone(ZoneInfo(customer.timezone)).date()
    basis = policy.interest.day_count_basis
    loans = []
    for loan in repo.customer_loans(session, customer_id):
        facts = repo.loan_facts(session, loan)
        nxt = next_installment(facts, today)
        promises = session.exec(
            select(PromiseToPay)
            .where(PromiseToPay.loan_id == loan.id)
            .order_by(col(PromiseToPay.created_at).desc())
            .limit(5)
        ).all()
        links = session.exec(
            select(PaymentLink)
            .where(PaymentLink.loan_id == loan.id)
            .order_by(col(PaymentLink.created_at).desc())
            .limit(5)
        ).all()
        loans.append(
            {
                "loan_id": loan.id,
                "status": loan.status,
                "opened": format_date(loan.opened),
                "apr": f"{loan.apr * 100:.2f}%",
                "principal_balance": format_money(loan.principal_balance),
                "past_due_amount": format_money(past_due_amount(facts, today)),
                "days_past_due": days_past_due(facts, today),
                "unpaid_fees": format_money(unpaid_fees(facts)),
                "next_due_date": format_date(nxt.due) if nxt else None,
                "next_due_amount": format_money(nxt.remaining) if nxt else None,
                "payoff_amount_today": format_money(payoff_amount(facts, today, basis)),
                "promises_to_pay": [
                    {
                        "amount": format_money(p.amount),
                        "date": format_date(p.date),
                        "status": p.status,
                    }
                    for p in promises
                ],
                "payment_links": [
                    {
                        "amount": format_money(p.amount),
                        "expires_at": p.expires_at.isoformat(),
                        "used": p.used_at is not None,
                    }
                    for p in links
                ],
                "payments": [
                    {
                        "date": format_date(p.received_on),
                        "amount": format_money(p.amount),
                        "method": p.method,
                    }
                    for p in repo.payment_history(session, loan.id)[-5:]
                ],
            }
        )
    return {
        "as_of": format_date(today),
        "customer": {
            "id": customer.id,
            "name": customer.name,
            "phone": customer.phone,
            "email": customer.email,
            "postal_code": customer.postal_code,
            "timezone": customer.timezone,
        },
        "loans": loans,
    }
