"""What the assistant may do on its own (POLICY.md section 3), as pure decisions.

Each rule returns a :class:`Decision`: allowed or not, a stable ``code`` naming the
rule that decided, and the figures behind it (``details``) so that a reply can state
the rule and the customer can be offered what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from agent.policy.calculations import days_past_due, payoff_amount, to_money
from agent.policy.calendar import add_months, within_months
from agent.policy.config import PolicyConfig
from agent.policy.facts import LoanFacts


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "rule": self.code, **self.details}


def allow(code: str = "ok", **details: Any) -> Decision:
    return Decision(True, code, details)


def refuse(code: str, **details: Any) -> Decision:
    return Decision(False, code, details)


def check_payment_link(
    amount: Decimal, loan: LoanFacts, today: date, policy: PolicyConfig
) -> Decision:
    payoff = payoff_amount(loan, today, policy.interest.day_count_basis)
    minimum = to_money(policy.payment_link.min_amount)
    bounds = {"min_amount": minimum, "max_amount": payoff}
    if amount < minimum:
        return refuse("payment_link_below_minimum", **bounds)
    if amount > payoff:
        return refuse("payment_link_above_payoff", **bounds)
    return allow(**bounds)


def check_promise_to_pay(
    amount: Decimal, promised: date, loan: LoanFacts, today: date, policy: PolicyConfig
) -> Decision:
    payoff = payoff_amount(loan, today, policy.interest.day_count_basis)
    latest = today + timedelta(days=policy.promise_to_pay.max_days_ahead)
    bounds = {"earliest_date": today, "latest_date": latest, "max_amount": payoff}
    if amount <= 0:
        return refuse("ptp_amount_not_positive", **bounds)
    if amount > payoff:
        return refuse("ptp_amount_above_payoff", **bounds)
    if promised < today:
        return refuse("ptp_date_in_past", **bounds)
    if promised > latest:
        return refuse("ptp_date_too_far", **bounds)
    replaces = loan.open_promise is not None
    return allow("ok", replaces_open_promise=replaces, **bounds)


def check_due_date_change(
    new_day: int, loan: LoanFacts, today: date, policy: PolicyConfig
) -> Decision:
    rule = policy.due_date_change
    dpd = days_past_due(loan, today)
    recent = [d for d in loan.due_date_change_dates if within_months(d, today, rule.period_months)]
    details: dict[str, Any] = {
        "min_day": rule.min_day_of_month,
        "max_day": rule.max_day_of_month,
        "days_past_due": dpd,
        "max_days_past_due": rule.max_days_past_due,
        "period_months": rule.period_months,
    }
    if not rule.min_day_of_month <= new_day <= rule.max_day_of_month:
        return refuse("due_date_day_out_of_range", **details)
    if len(recent) >= rule.max_changes:
        last = max(recent)
        return refuse(
            "due_date_changed_recently",
            last_change=last,
            next_eligible=add_months(last, rule.period_months),
            **details,
        )
    if dpd > rule.max_days_past_due:
        return refuse("due_date_too_past_due", **details)
    return allow(**details)


def check_deferral(loan: LoanFacts, today: date, policy: PolicyConfig) -> Decision:
    rule = policy.deferral
    dpd = days_past_due(loan, today)
    eligible_from = add_months(loan.opened, rule.min_loan_age_months)
    recent = [d for d in loan.deferral_dates if within_months(d, today, rule.period_months)]
    details: dict[str, Any] = {
        "days_past_due": dpd,
        "max_days_past_due": rule.max_days_past_due,
        "min_loan_age_months": rule.min_loan_age_months,
        "period_months": rule.period_months,
        "fee": to_money(rule.fee),
    }
    if today < eligible_from:
        return refuse("deferral_loan_too_new", eligible_from=eligible_from, **details)
    if dpd > rule.max_days_past_due:
        return refuse("deferral_too_past_due", **details)
    if len(recent) >= rule.max_deferrals:
        last = max(recent)
        return refuse(
            "deferral_used_recently",
            last_deferral=last,
            next_eligible=add_months(last, rule.period_months),
            **details,
        )
    if not any(i.remaining > 0 for i in loan.installments):
        return refuse("deferral_nothing_to_defer", **details)
    return allow(**details)


def check_fee_waiver(loan: LoanFacts, today: date, policy: PolicyConfig) -> Decision:
    rule = policy.late_fee_waiver
    open_fees = [f for f in loan.fees if f.kind == "late_fee" and not f.waived]
    recent = [d for d in loan.fee_waiver_dates if within_months(d, today, rule.period_months)]
    details: dict[str, Any] = {"period_months": rule.period_months}
    if not open_fees:
        return refuse("fee_waiver_no_late_fee", **details)
    if len(recent) >= rule.max_waivers:
        last = max(recent)
        return refuse(
            "fee_waiver_used_recently",
            last_waiver=last,
            next_eligible=add_months(last, rule.period_months),
            **details,
        )
    newest = max(open_fees, key=lambda f: f.date)
    return allow(fee_id=newest.id, amount=to_money(newest.amount), fee_date=newest.date, **details)


def identity_matches(
    given_dob: date | None, given_postal: str | None, dob_on_file: date, postal_on_file: str
) -> bool:
    """Both the date of birth and the postal code must match."""
    if given_dob is None or not given_postal:
        return False
    return given_dob == dob_on_file and given_postal.strip() == postal_on_file.strip()
