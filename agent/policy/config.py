"""The policy configuration: every number of the lender's policy, typed and validated."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class EscalationReason(StrEnum):
    HARDSHIP = "hardship"
    DISPUTE = "dispute"
    FRAUD = "fraud"
    LEGAL = "legal"
    VULNERABILITY = "vulnerability"
    COMPLAINT = "complaint"
    HUMAN_REQUEST = "human_request"
    VERIFICATION_FAILED = "verification_failed"


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LenderConfig(_Strict):
    name: str
    currency: str = "USD"
    payment_page_url: str
    support_phone: str
    support_hours: str
    support_hours_translated: dict[str, str] = Field(default_factory=dict)

    def support_hours_in(self, language: str) -> str:
        return self.support_hours_translated.get(language, self.support_hours)


class VerificationConfig(_Strict):
    max_failed_attempts: int = Field(ge=1)
    postal_code_digits: int = Field(ge=3, le=10)


class PaymentLinkConfig(_Strict):
    min_amount: Decimal = Field(gt=0)
    valid_hours: int = Field(ge=1)


class PromiseToPayConfig(_Strict):
    max_days_ahead: int = Field(ge=0)
    max_open_per_loan: int = Field(ge=1)


class DueDateChangeConfig(_Strict):
    min_day_of_month: int = Field(ge=1, le=31)
    max_day_of_month: int = Field(ge=1, le=31)
    max_changes: int = Field(ge=0)
    period_months: int = Field(ge=1)
    max_days_past_due: int = Field(ge=0)

    @model_validator(mode="after")
    def _days_ordered(self) -> DueDateChangeConfig:
        if self.min_day_of_month > self.max_day_of_month:
            raise ValueError("min_day_of_month is after max_day_of_month")
        return self


class DeferralConfig(_Strict):
    min_loan_age_months: int = Field(ge=0)
    max_days_past_due: int = Field(ge=0)
    max_deferrals: int = Field(ge=0)
    period_months: int = Field(ge=1)
    fee: Decimal = Field(ge=0)


class LateFeeWaiverConfig(_Strict):
    max_waivers: int = Field(ge=0)
    period_months: int = Field(ge=1)


class FeesConfig(_Strict):
    grace_period_days: int = Field(ge=0)
    late_fee: Decimal = Field(ge=0)


class InterestConfig(_Strict):
    day_count_basis: int = Field(ge=360, le=366)


class EscalationConfig(_Strict):
    priorities: dict[EscalationReason, Priority]

    @model_validator(mode="after")
    def _every_reason(self) -> EscalationConfig:
        missing = set(EscalationReason) - set(self.priorities)
        if missing:
            raise ValueError(f"no priority for: {', '.join(sorted(missing))}")
        return self


class PolicyConfig(_Strict):
    lender: LenderConfig
    verification: VerificationConfig
    payment_link: PaymentLinkConfig
    promise_to_pay: PromiseToPayConfig
    due_date_change: DueDateChangeConfig
    deferral: DeferralConfig
    late_fee_waiver: LateFeeWaiverConfig
    fees: FeesConfig
    interest: InterestConfig
    escalation: EscalationConfig
    crisis_line: str

    def priority_for(self, reason: EscalationReason | str) -> Priority:
        return self.escalation.priorities[EscalationReason(reason)]


class PolicyConfigError(ValueError):
    """The policy file is missing, not YAML, or does not fit the policy model."""


def load_policy(path: Path | str) -> PolicyConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyConfigError(f"{path}: policy file not found") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PolicyConfigError(f"{path}: not a readable YAML file: {exc}") from exc
    if not isinstance(raw, dict):
        raise PolicyConfigError(f"{path}: expected a mapping at the top level")
    try:
        return PolicyConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise PolicyConfigError(f"{path}: field '{field}': {first['msg']}") from exc


@lru_cache(maxsize=8)
def cached_policy(path: str) -> PolicyConfig:
    return load_policy(path)
