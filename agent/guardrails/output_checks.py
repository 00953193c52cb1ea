"""Output checks on every reply before it is sent: grounding of figures, no account data
before verification, nothing about anyone but the verified customer, prohibited content.

Pure functions over the reply and the evidence (tool results of this conversation, the
policy config); the middleware decides what to do with a failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from agent.language.dates import MONTH_NAMES
from agent.language.loan_numbers import canonical, loan_numbers_shown
from agent.policy.config import PolicyConfig
from agent.policy.formatting import format_date

MONEY_RE = re.compile(r"\$\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?")
RAW_AMOUNT_RE = re.compile(r"(?<![\d.])(\d+\.\d{2})(?!\d)")
MONTHS = "|".join(MONTH_NAMES)
DATE_RE = re.compile(rf"\b({MONTHS})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,\s*(\d{{4}}))?\b")
ISO_RE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
URL_RE = re.compile(r"https?://\S+")


def without_urls(text: str) -> str:
    return URL_RE.sub(" ", text)


@dataclass(frozen=True)
class Violation:
    kind: str
    detail: str


def money_values(text: str) -> set[Decimal]:
    values = set()
    for m in MONEY_RE.finditer(text):
        try:
            values.add(Decimal(f"{m[1].replace(',', '')}.{m[2] or '00'}"))
        except InvalidOperation:
            continue
    return values


def evidence_amounts(texts: Iterable[str]) -> set[Decimal]:
    found: set[Decimal] = set()
    for text in texts:
        found |= money_values(text)
        found |= {Decimal(m) for m in RAW_AMOUNT_RE.findall(text)}
    return found


def date_mentions(text: str) -> list[tuple[str, int, int | None]]:
    return [(m[1], int(m[2]), int(m[3]) if m[3] else None) for m in DATE_RE.finditer(text)]


def evidence_dates(texts: Iterable[str]) -> set[tuple[str, int, int | None]]:
    found: set[tuple[str, int, int | None]] = set()
    for text in texts:
        for month, day, year in date_mentions(text):
            found.add((month, day, year))
            found.add((month, day, None))
        for m in ISO_RE.finditer(text):
            try:
                d = date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                continue
            found.add((f"{d:%B}", d.day, d.year))
            found.add((f"{d:%B}", d.day, None))
    return found


def policy_amounts(policy: PolicyConfig) -> set[Decimal]:
    return {
        Decimal(policy.fees.late_fee).quantize(Decimal("0.01")),
        Decimal(policy.payment_link.min_amount).quantize(Decimal("0.01")),
        Decimal(policy.deferral.fee).quantize(Decimal("0.01")),
        Decimal("0.00"),
    }


def check_grounding(
    reply: str, evidence: list[str], policy: PolicyConfig, today: date
) -> list[Violation]:
    """Every amount and date in the reply must come from a tool result or the policy."""
    violations = []
    allowed_amounts = evidence_amounts(evidence) | policy_amounts(policy)
    for amount in sorted(money_values(reply)):
        if amount not in allowed_amounts:
            violations.append(Violation("ungrounded_amount", f"${amount:,.2f}"))
    # Today and the last day of the promise window are policy facts, not account data.
    last_promise_day = today + timedelta(days=policy.promise_to_pay.max_days_ahead)
    allowed_dates = evidence_dates([*evidence, format_date(today), format_date(last_promise_day)])
    for month, day, year in date_mentions(reply):
        if (month, day, year) not in allowed_dates:
            violations.append(
                Violation("ungrounded_date", f"{month} {day}" + (f", {year}" if year else ""))
            )
    return violations


def check_disclosure_before_verification(
    reply: str, verified: bool, policy: PolicyConfig
) -> list[Violation]:
    """Before verification: no account amounts (policy amounts are fine) and no loan ids."""
    if verified:
        return []
    violations = []
    for amount in money_values(reply) - policy_amounts(policy):
        violations.append(Violation("account_data_before_verification", f"${amount:,.2f}"))
    for loan_id in loan_numbers_shown(without_urls(reply)):
        violations.append(Violation("account_data_before_verification", loan_id))
    return violations


def check_foreign_loans(reply: str, own_loan_ids: set[str]) -> list[Violation]:
    """No loan id other than the verified customer's own."""
    own = {canonical(x) for x in own_loan_ids}
    return [
        Violation("other_customer_data", loan_id)
        for loan_id in loan_numbers_shown(without_urls(reply))
        if canonical(loan_id) not in own
    ]


def check_names(reply: str, foreign_names: Iterable[str]) -> list[Violation]:
    lowered = reply.lower()
    return [
        Violation("other_customer_data", name)
        for name in foreign_names
        if name and name.lower() in lowered
    ]
