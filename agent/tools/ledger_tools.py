"""The ledger tools as plain functions of the conversation context.

Every tool enforces identity and authorization first (only the verified customer's
loans; anything else answers exactly like an unknown loan), then the policy rule, and
returns JSON: ``ok`` with figures already formatted the policy's way, or ``refused``
with the rule. Writes need a confirmation: called without ``confirm`` they validate and
record a proposal; called with ``confirm`` in a later turn, after the customer said yes,
they write, once (a repeat returns the same record).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from agent.language.amounts import parse_amount
from agent.language.confirmation import Answer, Proposal, confirmation_of
from agent.language.dates import parse_loose_date
from agent.language.loan_numbers import canonical
from agent.ledger import repository as repo
from agent.ledger.models import Customer, Loan, PaymentLink
from agent.policy import rules
from agent.policy.calculations import (
    accrued_interest,
    days_past_due,
    next_installment,
    past_due_amount,
    payoff_amount,
    unpaid_fees,
)
from agent.policy.config import EscalationReason
from agent.policy.formatting import format_date, format_money
from agent.tools.context import ConversationContext, EscalationRequest
from agent.tools.results import ok, refused, safe_tool

UNKNOWN_LOAN = (
    "unknown_loan",
    "I can't find that loan among the accounts I can discuss in this conversation.",
)
NOT_VERIFIED = (
    "identity_not_verified",
    "The customer's identity is not verified yet: ask for the date of birth and the "
    "5-digit ZIP code on file. Reveal nothing about any account.",
)


# --- identity --------------------------------------------------------------------------


@safe_tool
def identify_customer(
    ctx: ConversationContext, loan_number: str | None = None, phone: str | None = None
) -> str:
    """Remember who the customer says they are; never tells whether that exists."""
    if ctx.verified:
        return ok(message="The customer is already verified.")
    if ctx.verification_locked:
        return refused("verification_locked", "Verification is locked for this conversation.")
    found: Customer | None = None
    if loan_number:
        loan = repo.find_loan(ctx.session, loan_number)
        found = repo.get_customer(ctx.session, loan.customer_id) if loan else None
    elif phone:
        found = repo.find_customer_by_phone(ctx.session, phone)
    else:
        return refused("missing_identifier", "Ask for the loan number or the phone number on file.")
    if ctx.customer_id is None:
        ctx.claimed_customer_id = found.id if found else "__unknown__"
    ctx.audit(
        "identify", {"by": "loan_number" if loan_number else "phone", "matched": found is not None}
    )
    return ok(
        message="Noted. Now ask for the date of birth and the 5-digit ZIP code on file "
        "to verify. Do not say whether the loan or phone number was found."
    )


@safe_tool
def verify_identity(ctx: ConversationContext, date_of_birth: str, postal_code: str) -> str:
    policy = ctx.policy.verification
    if ctx.verified:
        return ok(verified=True, message="Already verified.")
    if ctx.verification_locked:
        return refused(
            "verification_locked",
            "Verification is locked after too many failed attempts; a person will help.",
        )
    subject = ctx.subject_customer_id
    if subject is None:
        return refused(
            "missing_identifier", "First ask for the loan number or the phone number on file."
        )
    dob = parse_loose_date(date_of_birth)
    postal = "".join(ch for ch in str(postal_code) if ch.isdigit())
    customer = repo.get_customer(ctx.session, subject) if subject != "__unknown__" else None
    matched = customer is not None and rules.identity_matches(
        dob, postal, customer.date_of_birth, customer.postal_code
    )
    if matched and customer is not None:
        ctx.verified = True
        ctx.customer_id = customer.id
        ctx.claimed_customer_id = None
        ctx.audit("verification", {"result": "verified", "customer_id": customer.id})
        ctx.actions.append("verified the customer's identity")
        first_name = customer.name.split()[0]
        return ok(verified=True, first_name=first_name)
    ctx.failed_verifications += 1
    remaining = policy.max_failed_attempts - ctx.failed_verifications
    ctx.audit("verification", {"result": "failed", "attempt": ctx.failed_verifications})
    if remaining <= 0:
        ctx.verification_locked = True
        reason = EscalationReason.VERIFICATION_FAILED
        ctx.escalation = EscalationRequest(
            reason=reason.value,
            priority=ctx.policy.priority_for(reason).value,
            summary=f"{policy.max_failed_attempts} failed identity verification attempts.",
        )
        return refused(
            "verification_locked",
            "Those details don't match our records. Verification is now locked for "
            "this conversation and a person from our team will help.",
            attempts_left=0,
        )
    return refused(
        "verification_failed",
        "Those details don't match our records. Ask the customer to check the date "
        "of birth and ZIP code and try again.",
        attempts_left=remaining,
    )


# --- authorization ---------------------------------------------------------------------


def _own_loans(ctx: ConversationContext) -> list[Loan]:
    return list(ctx.own_loans())


def _authorized_loan(ctx: ConversationContext, loan_id: str | None) -> Loan | str:
    """The verified customer's loan, or a refusal JSON string."""
    if not ctx.verified:
        return refused(*NOT_VERIFIED)
    loans = _own_loans(ctx)
    if loan_id:
        wanted = canonical(loan_id)
        for loan in loans:
            if canonical(loan.id) == wanted:
                return loan
        ctx.audit("authorization", {"decision": "refused", "loan_id": loan_id})
        return refused(*UNKNOWN_LOAN)
    if len(loans) == 1:
        return loans[0]
    if not loans:
        return refused("no_loans", "There is no loan on this customer's profile.")
    return refused(
        "loan_choice_needed",
        "The customer has several loans: ask which one.",
        loans=[loan.id for loan in loans],
        # So that "the one that's behind" can answer the question.
        past_due={
            loan.id: format_money(past_due_amount(repo.loan_facts(ctx.session, loan), ctx.today))
            for loan in loans
        },
    )


def loan_summary(ctx: ConversationContext, loan: Loan) -> dict[str, Any]:
    facts = repo.loan_facts(ctx.session, loan)
    today, basis = ctx.today, ctx.policy.interest.day_count_basis
    nxt = next_installment(facts, today)
    past_due = past_due_amount(facts, today)
    fees = unpaid_fees(facts)
    summary: dict[str, Any] = {
        "loan_id": loan.id,
        "past_due_amount": format_money(past_due),
        "days_past_due": days_past_due(facts, today),
        "unpaid_fees": format_money(fees),
        "next_due_date": format_date(nxt.due) if nxt else None,
        "next_due_amount": format_money(nxt.remaining) if nxt else None,
        "payoff_amount_today": format_money(payoff_amount(facts, today, basis)),
        "principal_balance": format_money(facts.principal_balance),
        "interest_accrued": format_money(accrued_interest(facts, today, basis)),
        "as_of": format_date(today),
        "open_promise_to_pay": (
            {
                "amount": format_money(facts.open_promise.amount),
                "date": format_date(facts.open_promise.date),
            }
            if facts.open_promise
            else None
        ),
        "late_fees": [
            {"date": format_date(f.date), "amount": format_money(f.amount), "waived": f.waived}
            for f in facts.fees
            if f.kind == "late_fee"
        ],
    }
    summary["_raw"] = {
        "past_due": str(past_due),
        "next_due": nxt.due.isoformat() if nxt else None,
        "next_amount": str(nxt.remaining) if nxt else None,
    }
    return summary


# --- reads -----------------------------------------------------------------------------


@safe_tool
def get_account_summary(ctx: ConversationContext, loan_id: str | None = None) -> str:
    if not ctx.verified:
        return refused(*NOT_VERIFIED)
    if loan_id:
        loan = _authorized_loan(ctx, loan_id)
        if isinstance(loan, str):
            return loan
        loans = [loan]
    else:
        loans = _own_loans(ctx)
    ctx.actions.append("looked up the account summary")
    return ok(loans=[loan_summary(ctx, loan) for loan in loans])


@safe_tool
def get_payment_history(ctx: ConversationContext, loan_id: str | None = None) -> str:
    loan = _authorized_loan(ctx, loan_id)
    if isinstance(loan, str):
        return loan
    installments = repo.installments_of(ctx.session, loan.id)
    paid = [
        {
            "due_date": format_date(i.due),
            "amount": format_money(i.amount),
            "paid": format_money(i.paid),
        }
        for i in installments
        if i.due < ctx.today or i.paid > 0
    ]
    payments = [
        {"date": format_date(p.received_on), "amount": format_money(p.amount), "method": p.method}
        for p in repo.payment_history(ctx.session, loan.id)
    ]
    ctx.actions.append("looked up the payment history")
    return ok(loan_id=loan.id, installments=paid[-6:], payments=payments[-6:])


# --- payment link (no confirmation: it only sends a link) -------------------------------


@safe_tool
def create_payment_link(ctx: ConversationContext, amount: str, loan_id: str | None = None) -> str:
    loan = _authorized_loan(ctx, loan_id)
    if isinstance(loan, str):
        return loan
    value = parse_amount(amount)
    if value is None:
        return refused("bad_amount", "Ask the customer for the amount to pay, in dollars.")
    facts = repo.loan_facts(ctx.session, loan)
    decision = rules.check_payment_link(value, facts, ctx.today, ctx.policy)
    ctx.audit("rule", {"tool": "create_payment_link", **decision.as_dict()})
    bounds = {
        "min_amount": format_money(decision.details["min_amount"]),
        "max_amount": format_money(decision.details["max_amount"]),
    }
    if not decision.allowed:
        return refused(
            decision.code,
            "A payment link can be for any amount from "
            f"{bounds['min_amount']} up to the payoff amount today, "
            f"{bounds['max_amount']}.",
            **bounds,
        )
    key = f"payment_link:{loan.id}:{value}"
    done = ctx.dialogue.setdefault("done", {})
    if key in done:
        existing = ctx.session.get(PaymentLink, done[key])
        if existing is not None and existing.used_at is None:
            return ok(
                loan_id=loan.id,
                amount=format_money(existing.amount),
                url=existing.url,
                valid_hours=ctx.policy.payment_link.valid_hours,
                reused=True,
            )
    created = repo.create_payment_link(
        ctx.session,
        loan.id,
        value,
        ctx.now,
        ctx.policy.payment_link.valid_hours,
        ctx.policy.lender.payment_page_url,
        ctx.conversation_id,
    )
    done[key] = created.id
    ctx.actions.append(f"sent a payment link for {format_money(value)} on loan {loan.id}")
    ctx.audit("write", {"record": "payment_link", "loan_id": loan.id, "amount": str(value)})
    return ok(
        loan_id=loan.id,
        amount=format_money(value),
        url=created.url,
        valid_hours=ctx.policy.payment_link.valid_hours,
    )


# --- writes that need the customer's yes -------------------------------------------------


def _rule_refusal(decision: rules.Decision, messages: dict[str, str], **values: Any) -> str:
    """A refusal stating the rule, with the date it allows again when there is one.
    ``values``: the figures of the rule's message, so that it can be said in another
    language (the offline engine's ``tool_messages`` templates)."""
    extra: dict[str, Any] = {"values": values}
    if decision.details.get("next_eligible"):
        extra["next_eligible"] = format_date(decision.details["next_eligible"])
    return refused(decision.code, messages[decision.code], **extra)


# What the model is told when a reply to a proposal is not a plain yes to it.
_NOT_CONFIRMED = {
    Answer.QUESTION: "they asked a question. Answer it, then ask again whether to go ahead "
    "with exactly this proposal; it stays pending.",
    Answer.CONDITIONAL: "they set a condition. A change cannot depend on a condition: explain "
    "the proposal as it is and ask for a plain yes or no; it stays pending.",
    Answer.HEDGED: "they hesitated. Do not press; the proposal stays pending until they say "
    "yes or no.",
    Answer.UNCLEAR: "their reply is not a clear yes in English. Ask them to answer yes or no; "
    "the proposal stays pending.",
    Answer.CHANGED: "they asked for something else than this proposal, so it is withdrawn. "
    "If they named new terms, propose those with confirm=false and ask for a yes.",
    Answer.NO: "they said no, so the proposal is withdrawn. Acknowledge it.",
}


def proposal_id(key: str) -> str:
    """A proposal's public id (the widget's Yes/No buttons name it): a hash of its key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def shown_in(entry: dict[str, Any]) -> int:
    """The turn whose reply last showed a proposal: where it was made, or where it was
    kept pending after a reply that was not a yes (a question, a hesitation...)."""
    return max(int(entry.get("turn", 0)), int(entry.get("kept", 0)))


def proposals_shown(dialogue: dict[str, Any], turn: int) -> dict[str, dict[str, Any]]:
    """The proposals the reply to ``turn`` showed: what a yes in the next turn confirms."""
    return {k: v for k, v in dialogue.get("pending", {}).items() if shown_in(v) == turn}


def _shown(proposal: dict[str, Any]) -> dict[str, Any]:
    """The values a proposal shows, for comparing a reply's values with."""
    args = proposal.get("args", {})
    amounts = [args.get("amount"), *(proposal.get(k) for k in ("amount", "installment_amount"))]
    dates = [args.get("date"), *(proposal.get(k) for k in ("date", "installment_due", "fee_date"))]
    parsed_amounts = (parse_amount(a) for a in [*amounts, proposal.get("fee")] if a)
    parsed_dates = (parse_loose_date(d) for d in dates if d)
    return Proposal(
        loan_id=args.get("loan_id") or proposal.get("loan_id"),
        amounts=tuple(dict.fromkeys(a for a in parsed_amounts if a is not None)),
        dates=tuple(dict.fromkeys(d for d in parsed_dates if d is not None)),
        day=args.get("day_of_month"),
    ).dump()


def _confirmation_gate(
    ctx: ConversationContext, key: str, proposal: dict[str, Any], confirm: bool
) -> str | None:
    """None when the write may go ahead; otherwise the JSON answer to return.

    A write needs its proposal made in an earlier turn and, in this turn, a reply that
    is a plain yes to exactly it (``agent.language.confirmation``), or the widget's Yes
    button for its id. A reply that asks, hesitates or sets a condition keeps the
    proposal pending; a no or another value withdraws it."""
    pending = ctx.dialogue.setdefault("pending", {})
    if not confirm:
        pending.clear()
        pending[key] = {"turn": ctx.turn, "id": proposal_id(key), "shown": _shown(proposal)}
        pending[key].update(proposal)
        return ok(
            needs_confirmation=True,
            proposal=proposal,
            proposal_id=proposal_id(key),
            message="Ask the customer to confirm before this is set up.",
        )
    entry = pending.get(key)
    if entry is None or entry["turn"] >= ctx.turn:
        other = entry is None and any(shown_in(v) < ctx.turn for v in pending.values())
        return refused(
            "confirmation_required",
            "The customer was shown different terms; a yes confirms only those. Propose "
            "these with confirm=false and ask the customer to confirm."
            if other
            else "Propose this first (confirm=false) and ask the customer to confirm.",
        )
    if ctx.confirming is not None and ctx.confirming != entry.get("id"):
        return refused(
            "confirmation_required",
            "The customer's Yes button was for another proposal: nothing was done.",
        )
    answer = confirmation_of(
        ctx.customer_text, Proposal.load(entry.get("shown")), ctx.today, ctx.proposal_language
    )
    ctx.audit("confirmation", {"key": key, "answer": answer.answer.value, "reason": answer.reason})
    if answer.confirms:
        return None
    if answer.keeps_proposal:
        pending[key] = {**entry, "kept": ctx.turn}  # a new dict: the row sees the change
    else:
        pending.pop(key, None)
    return refused(
        "confirmation_required",
        "The customer has not said yes to this proposal, so nothing was done: "
        + _NOT_CONFIRMED[answer.answer],
        answer=answer.answer.value,
        reason=answer.reason,
        still_pending=answer.keeps_proposal,
        **({"new_values": answer.new_values} if answer.new_values else {}),
    )


def _already_done(ctx: ConversationContext, key: str) -> Any:
    return ctx.dialogue.setdefault("done", {}).get(key)


def _finish(ctx: ConversationContext, key: str, record_id: Any) -> None:
    ctx.dialogue.setdefault("done", {})[key] = record_id
    ctx.dialogue.setdefault("pending", {}).pop(key, None)


@safe_tool
def promise_to_pay(
    ctx: ConversationContext,
    amount: str,
    date: str,
    loan_id: str | None = None,
    confirm: bool = False,
) -> str:
    loan = _authorized_loan(ctx, loan_id)
    if isinstance(loan, str):
        return loan
    value = parse_amount(amount)
    promised = parse_loose_date(date, ctx.today)
    if value is None:
        return refused("bad_amount", "Ask how much the customer will pay.")
    if promised is None:
        return refused("bad_date", "Ask on which date the customer will pay.")
    facts = repo.loan_facts(ctx.session, loan)
    decision = rules.check_promise_to_pay(value, promised, facts, ctx.today, ctx.policy)
    ctx.audit("rule", {"tool": "promise_to_pay", **decision.as_dict()})
    latest = decision.details["latest_date"]
    if not decision.allowed:
        days = ctx.policy.promise_to_pay.max_days_ahead
        messages = {
            "ptp_date_too_far": f"A promise to pay can be for a date from today through "
            f"{days} days from today, that is no later than {format_date(latest)}. A customer "
            "who cannot pay within that time can get help from our hardship team.",
            "ptp_date_in_past": "The promised date can't be in the past.",
            "ptp_amount_not_positive": "The promised amount must be more than $0.00.",
            "ptp_amount_above_payoff": "The promised amount can't be more than the payoff "
            f"amount today, {format_money(decision.details['max_amount'])}.",
        }
        values = {
            "latest_date": format_date(latest),
            "max_days_ahead": days,
            "max_amount": format_money(decision.details["max_amount"]),
        }
        return refused(decision.code, messages[decision.code], **values, values=values)
    key = f"promise_to_pay:{loan.id}:{value}:{promised.isoformat()}"
    proposal = {
        "loan_id": loan.id,
        "amount": format_money(value),
        "date": format_date(promised),
        "replaces_open_promise": decision.details["replaces_open_promise"],
    }
    if (done := _already_done(ctx, key)) is not None:
        return ok(recorded=True, promise_id=done, already_recorded=True, **proposal)
    gate = _confirmation_gate(
        ctx,
        key,
        {
            **proposal,
            "args": {"amount": str(value), "date": promised.isoformat(), "loan_id": loan.id},
        },
        confirm,
    )
    if gate is not None:
        return gate
    promise, previous = repo.record_promise(
        ctx.session, loan.id, value, promised, ctx.conversation_id
    )
    _finish(ctx, key, promise.id)
    ctx.actions.append(
        f"recorded a promise to pay {format_money(value)} on "
        f"{format_date(promised)} for loan {loan.id}"
    )
    ctx.audit(
        "write",
        {
            "record": "promise_to_pay",
            "loan_id": loan.id,
            "amount": str(value),
            "date": promised.isoformat(),
            "replaced": previous.id if previous else None,
        },
    )
    return ok(recorded=True, promise_id=promise.id, **proposal)


@safe_tool
def change_due_date(
    ctx: ConversationContext, day_of_month: int, loan_id: str | None = None, confirm: bool = False
) -> str:
    loan = _authorized_loan(ctx, loan_id)
    if isinstance(loan, str):
        return loan
    try:
        day = int(day_of_month)
    except (TypeError, ValueError):
        return refused("bad_day", "Ask for the new day of the month (1 to 28).")
    facts = repo.loan_facts(ctx.session, loan)
    decision = rules.check_due_date_change(day, facts, ctx.today, ctx.policy)
    ctx.audit("rule", {"tool": "change_due_date", **decision.as_dict()})
    rule = ctx.policy.due_date_change
    if not decision.allowed:
        messages = {
            "due_date_day_out_of_range": f"The new due date must be a day from the "
            f"{rule.min_day_of_month}st to the {rule.max_day_of_month}th of the month.",
            "due_date_changed_recently": f"The due date can be changed once in any "
            f"{rule.period_months} months; the last change was on "
            f"{format_date(decision.details.get('last_change') or ctx.today)}.",
            "due_date_too_past_due": f"The due date can be changed only when the loan is no "
            f"more than {rule.max_days_past_due} days past due; this loan is "
            f"{decision.details['days_past_due']} days past due.",
        }
        return _rule_refusal(
            decision,
            messages,
            min_day=rule.min_day_of_month,
            max_day=rule.max_day_of_month,
            period_months=rule.period_months,
            last_change=format_date(decision.details.get("last_change") or ctx.today),
            max_days_past_due=rule.max_days_past_due,
            days_past_due=decision.details.get("days_past_due"),
        )
    key = f"due_date_change:{loan.id}:{day}"
    proposal = {"loan_id": loan.id, "day_of_month": day}
    if _already_done(ctx, key) is not None:
        return ok(recorded=True, already_recorded=True, **proposal)
    gate = _confirmation_gate(
        ctx, key, {**proposal, "args": {"day_of_month": day, "loan_id": loan.id}}, confirm
    )
    if gate is not None:
        return gate
    change = repo.change_due_day(ctx.session, loan, day, ctx.today, ctx.conversation_id)
    _finish(ctx, key, change.id)
    nxt = next_installment(repo.loan_facts(ctx.session, loan), ctx.today)
    ctx.actions.append(f"changed the due day of loan {loan.id} to the {day}")
    ctx.audit("write", {"record": "due_date_change", "loan_id": loan.id, "day": day})
    return ok(
        recorded=True,
        **proposal,
        next_due_date=format_date(nxt.due) if nxt else None,
        next_due_amount=format_money(nxt.remaining) if nxt else None,
    )


@safe_tool
def request_deferral(
    ctx: ConversationContext, loan_id: str | None = None, confirm: bool = False
) -> str:
    loan = _authorized_loan(ctx, loan_id)
    if isinstance(loan, str):
        return loan
    facts = repo.loan_facts(ctx.session, loan)
    decision = rules.check_deferral(facts, ctx.today, ctx.policy)
    ctx.audit("rule", {"tool": "request_deferral", **decision.as_dict()})
    rule = ctx.policy.deferral
    if not decision.allowed:
        d = decision.details
        messages = {
            "deferral_loan_too_new": f"A deferral is possible once the loan has been open at "
            f"least {rule.min_loan_age_months} months"
            + (
                f", that is from {format_date(d['eligible_from'])}."
                if d.get("eligible_from")
                else "."
            ),
            "deferral_too_past_due": f"A deferral is possible only when the loan is no more "
            f"than {rule.max_days_past_due} days past due; this loan is {d['days_past_due']} "
            "days past due.",
            "deferral_used_recently": f"A loan can have one deferral in any {rule.period_months} "
            f"months; the last one was on {format_date(d.get('last_deferral') or ctx.today)}.",
            "deferral_nothing_to_defer": "There is no unpaid installment to defer.",
        }
        return _rule_refusal(
            decision,
            messages,
            min_loan_age_months=rule.min_loan_age_months,
            eligible_from=format_date(d["eligible_from"]) if d.get("eligible_from") else None,
            max_days_past_due=rule.max_days_past_due,
            days_past_due=d.get("days_past_due"),
            period_months=rule.period_months,
            last_deferral=format_date(d.get("last_deferral") or ctx.today),
        )
    schedule = repo.installments_of(ctx.session, loan.id)
    target = next(i for i in schedule if i.paid < i.amount)
    key = f"deferral:{loan.id}"
    proposal = {
        "loan_id": loan.id,
        "installment_due": format_date(target.due),
        "installment_amount": format_money(target.amount - target.paid),
        "fee": format_money(rule.fee),
    }
    if _already_done(ctx, key) is not None:
        return ok(recorded=True, already_recorded=True, loan_id=loan.id)
    gate = _confirmation_gate(ctx, key, {**proposal, "args": {"loan_id": loan.id}}, confirm)
    if gate is not None:
        return gate
    deferral = repo.defer_installment(ctx.session, loan, ctx.today, ctx.conversation_id)
    _finish(ctx, key, deferral.id)
    ctx.actions.append(
        f"deferred the {format_date(deferral.installment_due)} installment of "
        f"loan {loan.id} to {format_date(deferral.moved_to)}"
    )
    ctx.audit("write", {"record": "deferral", "loan_id": loan.id})
    return ok(recorded=True, **proposal, moved_to=format_date(deferral.moved_to))


@safe_tool
def waive_late_fee(
    ctx: ConversationContext, loan_id: str | None = None, confirm: bool = False
) -> str:
    loan = _authorized_loan(ctx, loan_id)
    if isinstance(loan, str):
        return loan
    facts = repo.loan_facts(ctx.session, loan)
    decision = rules.check_fee_waiver(facts, ctx.today, ctx.policy)
    ctx.audit("rule", {"tool": "waive_late_fee", **decision.as_dict()})
    rule = ctx.policy.late_fee_waiver
    if not decision.allowed:
        d = decision.details
        messages = {
            "fee_waiver_no_late_fee": "There is no unpaid late fee on this loan to waive.",
            "fee_waiver_used_recently": f"We can waive one late fee per loan in any "
            f"{rule.period_months} months, and one was waived on "
            f"{format_date(d.get('last_waiver') or ctx.today)}. A person from our team can "
            "review a further request.",
        }
        return _rule_refusal(
            decision,
            messages,
            period_months=rule.period_months,
            last_waiver=format_date(d.get("last_waiver") or ctx.today),
        )
    fee_id = decision.details["fee_id"]
    key = f"fee_waiver:{loan.id}:{fee_id}"
    proposal = {
        "loan_id": loan.id,
        "amount": format_money(decision.details["amount"]),
        "fee_date": format_date(decision.details["fee_date"]),
    }
    if _already_done(ctx, key) is not None:
        return ok(recorded=True, already_recorded=True, **proposal)
    gate = _confirmation_gate(ctx, key, {**proposal, "args": {"loan_id": loan.id}}, confirm)
    if gate is not None:
        return gate
    waiver = repo.waive_fee(ctx.session, fee_id, ctx.today, ctx.conversation_id)
    _finish(ctx, key, waiver.id)
    ctx.actions.append(f"waived a {proposal['amount']} late fee on loan {loan.id}")
    ctx.audit("write", {"record": "fee_waiver", "loan_id": loan.id, "fee_id": fee_id})
    summary = loan_summary(ctx, loan)
    return ok(recorded=True, **proposal, past_due_amount=summary["past_due_amount"])


# --- contact preferences (a customer's right: honoured at once, then confirmed) -----------


@safe_tool
def update_contact_preferences(
    ctx: ConversationContext,
    sms: bool | None = None,
    email: bool | None = None,
    calls: bool | None = None,
    do_not_contact: bool | None = None,
    contact_hours: str | None = None,
) -> str:
    if not ctx.verified or ctx.customer_id is None:
        return refused(*NOT_VERIFIED)
    if contact_hours is not None and not _valid_hours(contact_hours):
        return refused("bad_contact_hours", "Contact hours look like 09:00-17:00.")
    if all(v is None for v in (sms, email, calls, do_not_contact, contact_hours)):
        return refused("nothing_to_change", "Ask which contact preference to change.")
    prefs = repo.update_contact_preferences(
        ctx.session,
        ctx.customer_id,
        ctx.now,
        ctx.conversation_id,
        sms=sms,
        email=email,
        calls=calls,
        do_not_contact=do_not_contact,
        contact_hours=contact_hours,
    )
    changed = {
        k: v
        for k, v in {
            "sms": sms,
            "email": email,
            "calls": calls,
            "do_not_contact": do_not_contact,
            "contact_hours": contact_hours,
        }.items()
        if v is not None
    }
    ctx.actions.append(f"updated contact preferences: {json.dumps(changed)}")
    ctx.audit("write", {"record": "contact_preferences", **changed})
    return ok(
        recorded=True,
        sms=prefs.sms,
        email=prefs.email,
        calls=prefs.calls,
        do_not_contact=prefs.do_not_contact,
        contact_hours=prefs.contact_hours,
    )


def _valid_hours(text: str) -> bool:
    import re

    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)", text.strip())
    return bool(match) and match.group(1) + match.group(2) < match.group(3) + match.group(4)


# --- knowledge and escalation -------------------------------------------------------------


@safe_tool
def search_policy(ctx: ConversationContext, query: str) -> str:
    if ctx.retriever is None:
        return refused("no_policy_index", "The policy documents are not available right now.")
    result = ctx.retriever.search(query, k=3)
    ctx.audit(
        "retrieval",
        {"query": query, "chunk_ids": [h.chunk_id for h in result.hits], "found": result.found},
    )
    if not result.found:
        return ok(found=False, message="No policy document answers this; do not guess.")
    return ok(
        found=True,
        hits=[
            {
                "doc_id": h.doc_id,
                "title": h.title,
                "section": h.section,
                "text": h.text,
                "score": round(h.score, 3),
                "chunk_id": h.chunk_id,
            }
            for h in result.hits
        ],
    )


@safe_tool
def escalate_to_human(ctx: ConversationContext, reason: str, summary: str = "") -> str:
    try:
        parsed = EscalationReason(reason)
    except ValueError:
        return refused(
            "bad_reason", "reason must be one of: " + ", ".join(r.value for r in EscalationReason)
        )
    ctx.escalation = EscalationRequest(
        reason=parsed.value,
        priority=ctx.policy.priority_for(parsed).value,
        summary=summary[:500] or f"Escalated by the assistant: {parsed.value}.",
        source="model",
    )
    return ok(
        escalated=True,
        reason=parsed.value,
        message="A person from our team will take over this conversation.",
    )


__all__ = [
    "change_due_date",
    "create_payment_link",
    "escalate_to_human",
    "get_account_summary",
    "get_payment_history",
    "identify_customer",
    "promise_to_pay",
    "request_deferral",
    "search_policy",
    "update_contact_preferences",
    "verify_identity",
    "waive_late_fee",
]
