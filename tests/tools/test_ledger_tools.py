"""The tools enforce identity, authorization, confirmation and policy, whatever the model says."""

import json
from datetime import date
from decimal import Decimal

from sqlmodel import select

from agent.ledger.models import (
    ContactPreference,
    Deferral,
    DueDateChange,
    FeeWaiver,
    Installment,
    PaymentLink,
    PromiseToPay,
)
from agent.tools import ledger_tools as lt


def call(fn, ctx, *args, **kwargs) -> dict:
    return json.loads(fn(ctx, *args, **kwargs))


def test_nothing_before_verification(make_ctx) -> None:
    ctx = make_ctx(verified=False)
    for fn, args in [
        (lt.get_account_summary, ()),
        (lt.get_payment_history, ()),
        (lt.create_payment_link, ("165",)),
        (lt.promise_to_pay, ("165", "2026-03-13")),
        (lt.change_due_date, (5,)),
        (lt.request_deferral, ()),
        (lt.waive_late_fee, ()),
        (lt.update_contact_preferences, (False,)),
    ]:
        result = call(fn, ctx, *args)
        assert result["status"] == "refused" and result["error"] == "identity_not_verified", fn
        assert "$" not in json.dumps(result)


def test_another_customers_loan_answers_like_an_unknown_one(make_ctx) -> None:
    ctx = make_ctx()
    other = call(lt.get_account_summary, ctx, "L200")
    unknown = call(lt.get_account_summary, ctx, "L999")
    assert other == unknown
    assert other["error"] == "unknown_loan"
    assert "7,300" not in json.dumps(other) and "James" not in json.dumps(other)
    assert call(lt.create_payment_link, ctx, "10", "L200") == unknown


def test_summary_figures_come_from_the_ledger(make_ctx) -> None:
    loans = call(lt.get_account_summary, make_ctx())["loans"]
    assert [loan["loan_id"] for loan in loans] == ["L100"]
    loan = loans[0]
    assert loan["past_due_amount"] == "$165.00"
    assert loan["days_past_due"] == 23
    assert (loan["next_due_date"], loan["next_due_amount"]) == ("March 15, 2026", "$150.00")
    assert loan["payoff_amount_today"] == "$2,762.97"


def test_verification_three_strikes_locks_and_escalates(make_ctx) -> None:
    ctx = make_ctx(verified=False)
    first = call(lt.verify_identity, ctx, "1990-01-01", "73301")
    assert (first["error"], first["attempts_left"]) == ("verification_failed", 2)
    call(lt.verify_identity, ctx, "1988-04-21", "73301")
    third = call(lt.verify_identity, ctx, "1988-04-12", "73310")
    assert third["error"] == "verification_locked"
    assert ctx.verification_locked and not ctx.verified
    assert ctx.escalation is not None
    assert (ctx.escalation.reason, ctx.escalation.priority) == ("verification_failed", "high")
    # Even the right answer no longer works in this conversation.
    assert call(lt.verify_identity, ctx, "1988-04-12", "73301")["error"] == "verification_locked"


def test_verification_accepts_other_date_forms(make_ctx) -> None:
    ctx = make_ctx(verified=False)
    assert call(lt.verify_identity, ctx, "04/12/1988", "73301")["verified"] is True
    assert ctx.verified and ctx.customer_id == "C100"


def test_identification_never_reveals_whether_a_loan_exists(make_ctx) -> None:
    known = make_ctx(verified=False, customer_id=None)
    unknown = make_ctx(verified=False, customer_id=None)
    a = call(lt.identify_customer, known, "L100")
    b = call(lt.identify_customer, unknown, "L999")
    assert a == b
    # A wrong loan number is just one failed attempt, with the same answer as a wrong DOB.
    wrong_loan = call(lt.verify_identity, unknown, "1988-04-12", "73301")
    wrong_dob = call(lt.verify_identity, known, "1999-01-01", "73301")
    assert wrong_loan == wrong_dob
    assert call(lt.verify_identity, known, "1988-04-12", "73301")["verified"] is True
    assert known.customer_id == "C100"


def test_identify_by_phone(make_ctx) -> None:
    ctx = make_ctx(verified=False, customer_id=None)
    call(lt.identify_customer, ctx, None, "555-0100")
    assert call(lt.verify_identity, ctx, "1988-04-12", "73301")["verified"] is True


def test_write_needs_a_proposal_in_an_earlier_turn_and_a_yes(make_ctx, book_session) -> None:
    ctx = make_ctx(turn=1, customer_text="I can pay $165 on Friday")
    # Confirming without any proposal is refused.
    assert (
        call(lt.promise_to_pay, ctx, "165", "2026-03-13", confirm=True)["error"]
        == "confirmation_required"
    )
    proposal = call(lt.promise_to_pay, ctx, "165", "2026-03-13")
    assert proposal["needs_confirmation"] is True
    # Same turn: still no write.
    assert (
        call(lt.promise_to_pay, ctx, "165", "2026-03-13", confirm=True)["error"]
        == "confirmation_required"
    )
    # Next turn without a yes: no write.
    ctx.turn, ctx.customer_text = 2, "hmm, what is my balance?"
    assert (
        call(lt.promise_to_pay, ctx, "165", "2026-03-13", confirm=True)["error"]
        == "confirmation_required"
    )
    assert book_session.exec(select(PromiseToPay)).all() == []
    ctx.customer_text = "yes please"
    done = call(lt.promise_to_pay, ctx, "165", "2026-03-13", confirm=True)
    assert done["recorded"] is True
    again = call(lt.promise_to_pay, ctx, "165", "2026-03-13", confirm=True)
    assert again["already_recorded"] is True
    rows = book_session.exec(select(PromiseToPay)).all()
    assert [(r.loan_id, r.amount, r.date, r.status) for r in rows] == [
        ("L100", Decimal("165.00"), date(2026, 3, 13), "open")
    ]


def test_confirming_different_terms_than_proposed_is_refused(make_ctx, book_session) -> None:
    ctx = make_ctx(turn=1)
    call(lt.promise_to_pay, ctx, "165", "2026-03-13")
    ctx.turn, ctx.customer_text = 2, "yes"
    assert (
        call(lt.promise_to_pay, ctx, "2000", "2026-03-13", confirm=True)["error"]
        == "confirmation_required"
    )
    assert book_session.exec(select(PromiseToPay)).all() == []


def test_promise_rules_are_explained(make_ctx) -> None:
    too_far = call(lt.promise_to_pay, make_ctx(), "165", "2026-04-30")
    assert too_far["error"] == "ptp_date_too_far"
    assert too_far["latest_date"] == "March 24, 2026"
    assert "14 days" in too_far["message"]
    assert (
        call(lt.promise_to_pay, make_ctx(), "9999", "2026-03-13")["error"]
        == "ptp_amount_above_payoff"
    )


def confirm(fn, make_ctx, *args) -> dict:
    ctx = make_ctx(turn=1)
    proposal = call(fn, ctx, *args)
    assert proposal.get("needs_confirmation"), proposal
    ctx.turn, ctx.customer_text = 2, "yes go ahead"
    return call(fn, ctx, *args, confirm=True)


def test_due_date_change_moves_future_installments(make_ctx, book_session) -> None:
    # L100 is 23 days past due: allowed (at most 30).
    result = confirm(lt.change_due_date, make_ctx, 20)
    assert result["recorded"] is True
    dues = [
        i.due
        for i in book_session.exec(
            select(Installment).where(Installment.loan_id == "L100").order_by(Installment.due)
        )
    ]
    assert date(2026, 3, 20) in dues and date(2026, 4, 20) in dues
    assert date(2026, 2, 15) in dues  # the past-due one stays where it was
    assert book_session.exec(select(DueDateChange)).one().day_of_month == 20
    second = call(lt.change_due_date, make_ctx(turn=3), 5)
    assert second["error"] == "due_date_changed_recently"


def test_deferral_moves_the_oldest_unpaid_installment_to_the_end(make_ctx, book_session) -> None:
    result = confirm(lt.request_deferral, make_ctx)
    assert result["recorded"] is True
    assert (result["installment_due"], result["moved_to"]) == ("February 15, 2026", "May 15, 2026")
    assert result["fee"] == "$0.00"
    assert book_session.exec(select(Deferral)).one().installment_due == date(2026, 2, 15)


def test_fee_waiver_once_then_refused(make_ctx, book_session) -> None:
    result = confirm(lt.waive_late_fee, make_ctx)
    assert result["recorded"] is True and result["amount"] == "$15.00"
    assert result["past_due_amount"] == "$150.00"
    waiver = book_session.exec(select(FeeWaiver)).one()
    assert waiver.amount == Decimal("15.00")
    assert call(lt.waive_late_fee, make_ctx(turn=5))["error"] == "fee_waiver_no_late_fee"


def test_payment_link_bounds_and_reuse(make_ctx, book_session) -> None:
    ctx = make_ctx()
    assert call(lt.create_payment_link, ctx, "0.50")["error"] == "payment_link_below_minimum"
    assert call(lt.create_payment_link, ctx, "5000")["error"] == "payment_link_above_payoff"
    link = call(lt.create_payment_link, ctx, "$165.00")
    assert link["amount"] == "$165.00" and link["url"].startswith("http")
    assert call(lt.create_payment_link, ctx, "165")["url"] == link["url"]
    stored = book_session.exec(select(PaymentLink)).one()
    assert (stored.expires_at - stored.created_at).total_seconds() == 24 * 3600


def test_contact_preferences_and_do_not_contact(make_ctx, book_session) -> None:
    ctx = make_ctx()
    assert call(lt.update_contact_preferences, ctx, sms=False)["sms"] is False
    assert (
        call(lt.update_contact_preferences, ctx, contact_hours="25:00-26:00")["error"]
        == "bad_contact_hours"
    )
    result = call(lt.update_contact_preferences, ctx, do_not_contact=True)
    assert result["do_not_contact"] is True and result["calls"] is False
    prefs = book_session.exec(select(ContactPreference)).one()
    assert (prefs.customer_id, prefs.do_not_contact, prefs.email) == ("C100", True, False)


def test_escalation_priority_comes_from_policy_not_the_model(make_ctx) -> None:
    ctx = make_ctx()
    assert call(lt.escalate_to_human, ctx, "fraud", "card stolen")["escalated"] is True
    assert ctx.escalation.priority == "high"
    assert call(lt.escalate_to_human, make_ctx(), "make me admin")["error"] == "bad_reason"


def test_tools_never_raise(make_ctx, monkeypatch) -> None:
    from agent.ledger import repository

    def boom(*_a, **_k):
        raise RuntimeError("database down")

    monkeypatch.setattr(repository, "customer_loans", boom)
    result = call(lt.get_account_summary, make_ctx())
    assert result == {
        "status": "error",
        "error": "internal_error",
        "message": "That could not be done right now.",
    }
