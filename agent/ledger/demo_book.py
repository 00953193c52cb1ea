"""The demo book: realistic customers in varied states, dated relative to today.

Written in the scenario format's ``ledger:`` shape and loaded through the same
loader as scenarios, so the demo and the evaluation exercise one code path.
Late fees are charged by the policy's own rule (:func:`late_fees_to_assess`).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from agent.policy.calculations import late_fees_to_assess
from agent.policy.calendar import add_months
from agent.policy.config import PolicyConfig
from agent.policy.facts import InstallmentFact, LoanFacts


def _loan(
    loan_id: str,
    customer_id: str,
    today: date,
    *,
    next_unpaid_due: date,
    months_open: int,
    apr: str,
    principal: str,
    amount: str,
    remaining: int,
    policy: PolicyConfig,
    history: list[dict[str, Any]] | None = None,
    partial_next: str | None = None,
) -> dict[str, Any]:
    """A monthly loan whose oldest unpaid installment falls on ``next_unpaid_due``."""
    opened = add_months(next_unpaid_due, -months_open)
    paid_count = months_open - 1
    dues = [add_months(opened, n + 1) for n in range(paid_count + remaining)]
    installments = []
    for n, due in enumerate(dues):
        paid = amount if n < paid_count else "0"
        if n == paid_count and partial_next:
            paid = partial_next
        installments.append(InstallmentFact(due, Decimal(amount), Decimal(paid)))
    facts = LoanFacts(
        loan_id,
        customer_id,
        opened,
        Decimal(apr),
        Decimal(principal),
        dues[paid_count - 1] if paid_count else opened,
        tuple(installments),
    )
    fees = late_fees_to_assess(facts, today, policy.fees, set())
    return {
        "id": loan_id,
        "customer_id": customer_id,
        "opened": opened.isoformat(),
        "apr": apr,
        "principal_balance": principal,
        "interest_accrued_through": facts.interest_accrued_through.isoformat(),
        "installments": [
            {"due": i.due.isoformat(), "amount": str(i.amount), "paid": str(i.paid)}
            for i in installments
        ],
        "fees": [
            {"date": f.assessed_on.isoformat(), "kind": "late_fee", "amount": str(f.amount)}
            for f in fees
        ],
        "history": history or [],
    }


CUSTOMERS = [
    ("C100", "Maria Lopez", "1988-04-12", "73301", "+1-555-0100", "America/Chicago"),
    ("C101", "James Chen", "1975-11-02", "10001", "+1-555-0101", "America/New_York"),
    ("C102", "Aisha Patel", "1992-07-19", "94107", "+1-555-0102", "America/Los_Angeles"),
    ("C103", "Robert Kim", "1969-01-30", "60614", "+1-555-0103", "America/Chicago"),
    ("C104", "Sofia Rossi", "1996-09-05", "02139", "+1-555-0104", "America/New_York"),
    ("C105", "David Okafor", "1983-12-14", "30303", "+1-555-0105", "America/New_York"),
    ("C106", "Emily Nguyen", "1990-03-22", "98101", "+1-555-0106", "America/Los_Angeles"),
    ("C107", "Thomas Brown", "1958-06-08", "85004", "+1-555-0107", "America/Phoenix"),
    ("C108", "Grace Miller", "1979-10-27", "80202", "+1-555-0108", "America/Denver"),
]


def demo_ledger(today: date, policy: PolicyConfig) -> dict[str, Any]:
    d = today

    def loan(loan_id: str, customer_id: str, days_late: int, **kw: Any) -> dict[str, Any]:
        return _loan(
            loan_id,
            customer_id,
            d,
            next_unpaid_due=d - timedelta(days=days_late),
            policy=policy,
            **kw,
        )

    loans = [
        # Maria: 23 days past due with a late fee (like the public scenarios).
        loan(
            "L100",
            "C100",
            23,
            months_open=9,
            apr="0.2499",
            principal="2650.00",
            amount="150.00",
            remaining=16,
        ),
        # James: current; next payment due in 5 days.
        loan(
            "L101",
            "C101",
            -5,
            months_open=26,
            apr="0.1899",
            principal="7300.00",
            amount="310.00",
            remaining=10,
        ),
        # Aisha: 4 days late, inside the grace period (no fee yet).
        loan(
            "L102",
            "C102",
            4,
            months_open=14,
            apr="0.2199",
            principal="4120.00",
            amount="205.00",
            remaining=12,
        ),
        # Robert: 45 days past due: two installments and two late fees.
        loan(
            "L103",
            "C103",
            45,
            months_open=20,
            apr="0.2799",
            principal="5480.00",
            amount="240.00",
            remaining=16,
        ),
        # Sofia: opened two months ago (too new for a deferral); current.
        loan(
            "L104",
            "C104",
            -12,
            months_open=2,
            apr="0.1599",
            principal="3000.00",
            amount="140.00",
            remaining=22,
        ),
        # David: current, with servicing history this year.
        loan(
            "L105",
            "C105",
            -9,
            months_open=30,
            apr="0.2299",
            principal="6100.00",
            amount="260.00",
            remaining=18,
            history=[
                {"date": add_months(d, -3).isoformat(), "kind": "deferral"},
                {"date": add_months(d, -5).isoformat(), "kind": "due_date_change"},
                {"date": add_months(d, -2).isoformat(), "kind": "fee_waiver"},
            ],
        ),
        # Emily: two loans, one current and one 12 days late with a fee.
        loan(
            "L106",
            "C106",
            -15,
            months_open=18,
            apr="0.1799",
            principal="2200.00",
            amount="120.00",
            remaining=18,
        ),
        loan(
            "L116",
            "C106",
            12,
            months_open=8,
            apr="0.2599",
            principal="1850.00",
            amount="95.00",
            remaining=16,
        ),
        # Thomas: long-standing customer, half of the next installment paid early.
        loan(
            "L107",
            "C107",
            -20,
            months_open=40,
            apr="0.1299",
            principal="1200.00",
            amount="180.00",
            remaining=7,
            partial_next="90.00",
        ),
        # Grace: 70 days past due (beyond what the assistant may do on its own).
        loan(
            "L108",
            "C108",
            70,
            months_open=16,
            apr="0.2899",
            principal="3900.00",
            amount="190.00",
            remaining=20,
        ),
    ]
    return {
        "customers": [
            {
                "id": cid,
                "name": name,
                "date_of_birth": dob,
                "postal_code": zip_,
                "phone": phone,
                "email": name.lower().replace(" ", ".") + "@example.com",
                "timezone": tz,
            }
            for cid, name, dob, zip_, phone, tz in CUSTOMERS
        ],
        "loans": loans,
    }
