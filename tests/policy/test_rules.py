"""Every rule of POLICY.md section 3 at its boundaries."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from agent.policy import rules
from agent.policy.facts import FeeFact, InstallmentFact, LoanFacts, PromiseFact

D = Decimal
TODAY = date(2026, 3, 10)


def loan(**overrides) -> LoanFacts:
    values = dict(
        loan_id="L1",
        customer_id="C1",
        opened=date(2025, 6, 15),
        apr=D("0.2499"),
        principal_balance=D("2650.00"),
        interest_accrued_through=date(2026, 1, 15),
        installments=(
            InstallmentFact(date(2026, 2, 15), D("150.00")),
            InstallmentFact(date(2026, 3, 15), D("150.00")),
        ),
        fees=(FeeFact(date(2026, 2, 26), "late_fee", D("15.00"), id=7),),
    )
    values.update(overrides)
    return LoanFacts(**values)


def current_loan(**overrides) -> LoanFacts:
    values = {"installments": (InstallmentFact(date(2026, 3, 15), D("150.00")),), "fees": ()}
    return loan(**{**values, **overrides})


class TestPaymentLink:
    def test_bounds_are_one_dollar_to_payoff(self, policy) -> None:
        assert rules.check_payment_link(D("1.00"), loan(), TODAY, policy).allowed
        assert rules.check_payment_link(D("2762.97"), loan(), TODAY, policy).allowed
        assert (
            rules.check_payment_link(D("0.99"), loan(), TODAY, policy).code
            == "payment_link_below_minimum"
        )
        assert (
            rules.check_payment_link(D("2762.98"), loan(), TODAY, policy).code
            == "payment_link_above_payoff"
        )


class TestPromiseToPay:
    def test_window_is_today_through_fourteen_days(self, policy) -> None:
        assert rules.check_promise_to_pay(D("165"), TODAY, loan(), TODAY, policy).allowed
        last = TODAY + timedelta(days=14)
        decision = rules.check_promise_to_pay(D("165"), last, loan(), TODAY, policy)
        assert decision.allowed and decision.details["latest_date"] == date(2026, 3, 24)
        too_far = rules.check_promise_to_pay(
            D("165"), last + timedelta(days=1), loan(), TODAY, policy
        )
        assert (too_far.allowed, too_far.code) == (False, "ptp_date_too_far")
        past = rules.check_promise_to_pay(
            D("165"), TODAY - timedelta(days=1), loan(), TODAY, policy
        )
        assert past.code == "ptp_date_in_past"

    def test_amount_above_zero_and_at_most_payoff(self, policy) -> None:
        assert (
            rules.check_promise_to_pay(D("0"), TODAY, loan(), TODAY, policy).code
            == "ptp_amount_not_positive"
        )
        assert (
            rules.check_promise_to_pay(D("2762.98"), TODAY, loan(), TODAY, policy).code
            == "ptp_amount_above_payoff"
        )
        assert rules.check_promise_to_pay(D("2762.97"), TODAY, loan(), TODAY, policy).allowed

    def test_a_new_promise_replaces_the_open_one(self, policy) -> None:
        with_open = loan(open_promise=PromiseFact(D("50"), date(2026, 3, 12)))
        decision = rules.check_promise_to_pay(D("165"), TODAY, with_open, TODAY, policy)
        assert decision.allowed and decision.details["replaces_open_promise"] is True


class TestDueDateChange:
    @pytest.mark.parametrize(
        ("day", "allowed"), [(0, False), (1, True), (28, True), (29, False), (31, False)]
    )
    def test_day_of_month_1_to_28(self, policy, day: int, allowed: bool) -> None:
        assert rules.check_due_date_change(day, current_loan(), TODAY, policy).allowed is allowed

    def test_once_in_any_twelve_months(self, policy) -> None:
        recent = current_loan(due_date_change_dates=(date(2025, 3, 11),))
        decision = rules.check_due_date_change(5, recent, TODAY, policy)
        assert decision.code == "due_date_changed_recently"
        assert decision.details["next_eligible"] == date(2026, 3, 11)
        old = current_loan(due_date_change_dates=(date(2025, 3, 10),))
        assert rules.check_due_date_change(5, old, TODAY, policy).allowed

    def test_at_most_thirty_days_past_due(self, policy) -> None:
        due = TODAY - timedelta(days=30)
        thirty = current_loan(installments=(InstallmentFact(due, D("150")),))
        assert rules.check_due_date_change(5, thirty, TODAY, policy).allowed
        late = current_loan(installments=(InstallmentFact(due - timedelta(days=1), D("150")),))
        assert rules.check_due_date_change(5, late, TODAY, policy).code == "due_date_too_past_due"


class TestDeferral:
    def test_loan_at_least_six_months_old(self, policy) -> None:
        assert rules.check_deferral(current_loan(opened=date(2025, 9, 10)), TODAY, policy).allowed
        young = rules.check_deferral(current_loan(opened=date(2025, 9, 11)), TODAY, policy)
        assert young.code == "deferral_loan_too_new"
        assert young.details["eligible_from"] == date(2026, 3, 11)

    def test_at_most_fifty_nine_days_past_due(self, policy) -> None:
        due = TODAY - timedelta(days=59)
        ok = current_loan(installments=(InstallmentFact(due, D("150")),))
        assert rules.check_deferral(ok, TODAY, policy).allowed
        late = current_loan(installments=(InstallmentFact(due - timedelta(days=1), D("150")),))
        assert rules.check_deferral(late, TODAY, policy).code == "deferral_too_past_due"

    def test_none_in_the_last_twelve_months_and_no_fee(self, policy) -> None:
        used = current_loan(deferral_dates=(date(2025, 12, 1),))
        assert rules.check_deferral(used, TODAY, policy).code == "deferral_used_recently"
        decision = rules.check_deferral(current_loan(), TODAY, policy)
        assert decision.details["fee"] == D("0.00")


class TestFeeWaiver:
    def test_one_late_fee_per_twelve_months(self, policy) -> None:
        decision = rules.check_fee_waiver(loan(), TODAY, policy)
        assert decision.allowed and decision.details["fee_id"] == 7
        assert decision.details["amount"] == D("15.00")
        used = loan(fee_waiver_dates=(date(2025, 10, 1),))
        assert rules.check_fee_waiver(used, TODAY, policy).code == "fee_waiver_used_recently"

    def test_nothing_to_waive(self, policy) -> None:
        waived = loan(fees=(FeeFact(date(2026, 2, 26), "late_fee", D("15.00"), waived=True),))
        assert rules.check_fee_waiver(waived, TODAY, policy).code == "fee_waiver_no_late_fee"


def test_identity_needs_both_date_of_birth_and_postal_code() -> None:
    dob = date(1988, 4, 12)
    assert rules.identity_matches(dob, "73301", dob, "73301")
    assert not rules.identity_matches(dob, "73310", dob, "73301")
    assert not rules.identity_matches(date(1988, 4, 21), "73301", dob, "73301")
    assert not rules.identity_matches(None, "73301", dob, "73301")
    assert not rules.identity_matches(dob, None, dob, "73301")
