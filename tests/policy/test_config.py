from pathlib import Path

import pytest

from agent.policy.config import EscalationReason, PolicyConfigError, load_policy


def test_default_policy_has_every_number_of_the_spec(policy) -> None:
    assert policy.promise_to_pay.max_days_ahead == 14
    assert (policy.due_date_change.min_day_of_month, policy.due_date_change.max_day_of_month) == (
        1,
        28,
    )
    assert policy.due_date_change.max_days_past_due == 30
    assert policy.deferral.max_days_past_due == 59
    assert policy.deferral.min_loan_age_months == 6
    assert str(policy.fees.late_fee) == "15.00"
    assert policy.fees.grace_period_days == 10
    assert policy.verification.max_failed_attempts == 3
    assert policy.payment_link.valid_hours == 24
    assert policy.priority_for(EscalationReason.FRAUD) == "high"
    assert policy.priority_for("hardship") == "normal"


def test_bad_policy_files_name_the_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(PolicyConfigError, match="not found"):
        load_policy(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("lender: [unclosed")
    with pytest.raises(PolicyConfigError, match=r"broken\.yaml"):
        load_policy(broken)
    from agent.settings import DEFAULT_POLICY_FILE

    text = DEFAULT_POLICY_FILE.read_text().replace("max_days_ahead: 14", "max_days_ahead: -1")
    negative = tmp_path / "negative.yaml"
    negative.write_text(text)
    with pytest.raises(PolicyConfigError, match=r"promise_to_pay\.max_days_ahead"):
        load_policy(negative)
    missing_reason = tmp_path / "reasons.yaml"
    missing_reason.write_text(DEFAULT_POLICY_FILE.read_text().replace("    fraud: high\n", ""))
    with pytest.raises(PolicyConfigError, match="fraud"):
        load_policy(missing_reason)
