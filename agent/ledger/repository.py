"""Ledger reads (as policy facts) and writes (servicing records), in the caller's session.

Callers own the transaction: these functions add and flush, never commit.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import update
from sqlmodel import Session, col, select

from agent.language.loan_numbers import canonical
from agent.language.phones import phone_digits, same_phone
from agent.ledger.models import (
    ContactPreference,
    Customer,
    Deferral,
    DueDateChange,
    Fee,
    FeeWaiver,
    Installment,
    Loan,
    Payment,
    PaymentLink,
    PromiseToPay,
)
from agent.policy.calendar import add_months, with_day_of_month
from agent.policy.facts import FeeFact, InstallmentFact, LoanFacts, PromiseFact


def get_customer(session: Session, customer_id: str) -> Customer | None:
    return session.get(Customer, customer_id)


def customer_loans(session: Session, customer_id: str) -> list[Loan]:
    return list(
        session.exec(select(Loan).where(Loan.customer_id == customer_id).order_by(col(Loan.id)))
    )


def find_loan(session: Session, loan_id: str) -> Loan | None:
    wanted = canonical(loan_id)
    loan = session.get(Loan, wanted)
    if loan is not None:
        return loan
    for candidate in session.exec(select(Loan)):
        if canonical(candidate.id) == wanted:
            return candidate
    return None


def find_customer_by_phone(session: Session, phone: str) -> Customer | None:
    """The one customer with this phone number on file (none when ambiguous)."""
    wanted = phone_digits(phone)
    if len(wanted) < 7:
        return None
    matches = [
        c
        for c in session.exec(select(Customer).where(col(Customer.phone).is_not(None)))
        if same_phone(c.phone or "", wanted)
    ]
    return matches[0] if len(matches) == 1 else None


def installments_of(session: Session, loan_id: str) -> list[Installment]:
    return list(
        session.exec(
            select(Installment).where(Installment.loan_id == loan_id).order_by(col(Installment.due))
        )
    )


def fees_of(session: Session, loan_id: str) -> list[Fee]:
    return list(session.exec(select(Fee).where(Fee.loan_id == loan_id).order_by(col(Fee.date))))


def open_promise(session: Session, loan_id: str) -> PromiseToPay | None:
    return session.exec(
        select(PromiseToPay).where(PromiseToPay.loan_id == loan_id, PromiseToPay.status == "open")
    ).first()


def loan_facts(session: Session, loan: Loan) -> LoanFacts:
    def dates(model) -> tuple[date, ...]:
        return tuple(r.date for r in session.exec(select(model).where(model.loan_id == loan.id)))

    promise = open_promise(session, loan.id)
    payments = session.exec(select(Payment).where(Payment.loan_id == loan.id))
    return LoanFacts(
        loan_id=loan.id,
        customer_id=loan.customer_id,
        opened=loan.opened,
        apr=loan.apr,
        principal_balance=loan.principal_balance,
        interest_accrued_through=loan.interest_accrued_through,
        installments=tuple(
            InstallmentFact(i.due, i.amount, i.paid) for i in installments_of(session, loan.id)
        ),
        fees=tuple(
            FeeFact(f.date, f.kind, f.amount, f.waived or f.paid_on is not None, f.id)
            for f in fees_of(session, loan.id)
        ),
        deferral_dates=dates(Deferral),
        due_date_change_dates=dates(DueDateChange),
        fee_waiver_dates=dates(FeeWaiver),
        open_promise=PromiseFact(promise.amount, promise.date) if promise else None,
        payments=tuple((p.received_on, p.amount) for p in payments),
    )


# --- writes ----------------------------------------------------------------------------


def record_promise(
    session: Session, loan_id: str, amount: Decimal, on: date, conversation_id: str | None
) -> tuple[PromiseToPay, PromiseToPay | None]:
    """A new open promise; an open one on the same loan is marked replaced."""
    previous = open_promise(session, loan_id)
    if previous is not None:
        previous.status = "replaced"
        session.add(previous)
    promise = PromiseToPay(loan_id=loan_id, amount=amount, date=on, conversation_id=conversation_id)
    session.add(promise)
    session.flush()
    return promise, previous


def create_payment_link(
    session: Session,
    loan_id: str,
    amount: Decimal,
    now: datetime,
    valid_hours: int,
    page_url: str,
    conversation_id: str | None,
) -> PaymentLink:
    token = secrets.token_urlsafe(18)
    link = PaymentLink(
        id=token,
        loan_id=loan_id,
        amount=amount,
        url=f"{page_url.rstrip('/')}/{token}",
        expires_at=now + timedelta(hours=valid_hours),
        conversation_id=conversation_id,
        created_at=now,
    )
    session.add(link)
    session.flush()
    return link


def change_due_day(
    session: Session, loan: Loan, new_day: int, today: date, conversation_id: str | None
) -> DueDateChange:
    """Move every future unpaid installment to ``new_day`` of its month."""
    future = [i for i in installments_of(session, loan.id) if i.due >= today and i.paid < i.amount]
    previous_day = future[0].due.day if future else None
    for inst in future:
        moved = with_day_of_month(inst.due, new_day)
        if moved < today:
            moved = with_day_of_month(add_months(inst.due, 1), new_day)
        inst.due = moved
        session.add(inst)
    change = DueDateChange(
        loan_id=loan.id,
        date=today,
        day_of_month=new_day,
        previous_day_of_month=previous_day,
        conversation_id=conversation_id,
    )
    session.add(change)
    session.flush()
    return change


def defer_installment(
    session: Session, loan: Loan, today: date, conversation_id: str | None
) -> Deferral:
    """Move the oldest unpaid installment to one month after the last one (end of term)."""
    schedule = installments_of(session, loan.id)
    unpaid = [i for i in schedule if i.paid < i.amount]
    target = unpaid[0]
    end_of_term = add_months(max(i.due for i in schedule), 1)
    original_due = target.due
    target.deferred_from = original_due
    target.due = end_of_term
    session.add(target)
    deferral = Deferral(
        loan_id=loan.id,
        date=today,
        installment_due=original_due,
        moved_to=end_of_term,
        conversation_id=conversation_id,
    )
    session.add(deferral)
    session.flush()
    return deferral


def waive_fee(session: Session, fee_id: int, today: date, conversation_id: str | None) -> FeeWaiver:
    fee = session.get(Fee, fee_id)
    if fee is None or fee.waived:
        raise ValueError(f"fee {fee_id} is not an open fee")
    fee.waived = True
    session.add(fee)
    waiver = FeeWaiver(
        loan_id=fee.loan_id,
        date=today,
        fee_id=fee.id,
        amount=fee.amount,
        conversation_id=conversation_id,
    )
    session.add(waiver)
    session.flush()
    return waiver


def contact_preferences(session: Session, customer_id: str) -> ContactPreference | None:
    return session.exec(
        select(ContactPreference).where(ContactPreference.customer_id == customer_id)
    ).first()


def update_contact_preferences(
    session: Session,
    customer_id: str,
    now: datetime,
    conversation_id: str | None,
    *,
    sms: bool | None = None,
    email: bool | None = None,
    calls: bool | None = None,
    do_not_contact: bool | None = None,
    contact_hours: str | None = None,
) -> ContactPreference:
    prefs = contact_preferences(session, customer_id) or ContactPreference(customer_id=customer_id)
    for name, value in (
        ("sms", sms),
        ("email", email),
        ("calls", calls),
        ("do_not_contact", do_not_contact),
        ("contact_hours", contact_hours),
    ):
        if value is not None:
            setattr(prefs, name, value)
    if do_not_contact:
        prefs.sms = prefs.email = prefs.calls = False
    prefs.updated_at = now
    prefs.conversation_id = conversation_id
    session.add(prefs)
    session.flush()
    return prefs


def apply_payment(session: Session, link: PaymentLink, today: date, now: datetime) -> Payment:
    """Record a payment made through a link: oldest fees first, then installments in order.

    The link is marked used by a conditional UPDATE first, so two concurrent payments of
    one link cannot both be applied.
    """
    claimed = session.exec(
        update(PaymentLink)
        .where(col(PaymentLink.id) == link.id, col(PaymentLink.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        raise ValueError("this payment link was already used")
    session.refresh(link)
    remaining = link.amount
    for fee in fees_of(session, link.loan_id):
        if remaining <= 0:
            break
        if not fee.waived and fee.paid_on is None and fee.amount <= remaining:
            remaining -= fee.amount
            fee.paid_on = today
            session.add(fee)
    for inst in installments_of(session, link.loan_id):
        if remaining <= 0:
            break
        owed = inst.amount - inst.paid
        if owed > 0:
            pay = min(owed, remaining)
            inst.paid += pay
            remaining -= pay
            session.add(inst)
    # Demo simplification: what is paid beyond fees reduces principal one for one.
    loan = session.get(Loan, link.loan_id)
    if loan is not None:
        applied = link.amount - sum(
            (f.amount for f in fees_of(session, link.loan_id) if f.paid_on == today), Decimal("0")
        )
        loan.principal_balance = max(loan.principal_balance - applied, Decimal("0.00"))
        session.add(loan)
    payment = Payment(
        loan_id=link.loan_id, amount=link.amount, received_on=today, payment_link_id=link.id
    )
    session.add(payment)
    session.flush()
    return payment


def payment_history(session: Session, loan_id: str) -> list[Payment]:
    return list(
        session.exec(
            select(Payment).where(Payment.loan_id == loan_id).order_by(col(Payment.received_on))
        )
    )
