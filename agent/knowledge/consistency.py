"""Do the policy documents agree with the policy configuration?

Every number of the policy config (``agent/policy/harbor_policy.yaml``) is a
:class:`PolicyFact` that must be stated in the document(s) that explain it. Every
quantity a document states (an amount, a number of days, hours or months, a day of
the month, a count of times, attempts or digits, or a bare number) must be the value
of a fact that belongs to that document. So a "$25.00 late fee" or "21 days" in the
promise-to-pay document is reported, and so is a document that no longer states a
number after the config changed.

The mapping from config keys to document ids is Harbor's demo knowledge base; a
lender with other documents changes ``FACT_DOCUMENTS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from agent.knowledge.documents import KnowledgeDocument
from agent.policy.config import PolicyConfig

ANY_DOCUMENT = "*"

# config key -> (kind, documents that must state it, documents that may mention it)
FACT_DOCUMENTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "lender.name": ("text", ("ai-assistant", "faq"), (ANY_DOCUMENT,)),
    "lender.support_phone": (
        "text",
        ("contact-preferences-and-hours", "ai-assistant"),
        (ANY_DOCUMENT,),
    ),
    "lender.support_hours": (
        "text",
        ("contact-preferences-and-hours", "ai-assistant"),
        (ANY_DOCUMENT,),
    ),
    "verification.max_failed_attempts": ("attempts", ("identity-verification",), ()),
    "verification.postal_code_digits": ("digits", ("identity-verification",), ()),
    "payment_link.min_amount": ("money", ("payments",), ()),
    "payment_link.valid_hours": ("hours", ("payments",), ()),
    "promise_to_pay.max_days_ahead": ("days", ("promise-to-pay", "hardship-help"), ()),
    "promise_to_pay.max_open_per_loan": ("open_promises", ("promise-to-pay",), ()),
    "due_date_change.min_day_of_month": ("day_of_month", ("due-date-change",), ()),
    "due_date_change.max_day_of_month": ("day_of_month", ("due-date-change",), ()),
    "due_date_change.max_changes": ("times", ("due-date-change",), ()),
    "due_date_change.period_months": ("months", ("due-date-change",), ()),
    "due_date_change.max_days_past_due": ("days", ("due-date-change",), ()),
    "deferral.min_loan_age_months": ("months", ("deferral",), ()),
    "deferral.max_days_past_due": ("days", ("deferral",), ()),
    "deferral.max_deferrals": ("times", ("deferral",), ()),
    "deferral.period_months": ("months", ("deferral",), ()),
    "deferral.fee": ("money", ("deferral",), ()),
    "late_fee_waiver.max_waivers": ("times", ("late-fees-and-waivers",), ()),
    "late_fee_waiver.period_months": ("months", ("late-fees-and-waivers",), ()),
    "fees.grace_period_days": ("days", ("late-fees-and-waivers",), ()),
    "fees.late_fee": ("money", ("late-fees-and-waivers",), ()),
    "interest.day_count_basis": ("number", ("balance-and-payoff",), ()),
    "crisis_line": ("number", ("extra-support",), ()),
}

# Config values that the documents do not state, and why.
EXEMPT_KEYS: dict[str, str] = {
    "lender.currency": "amounts are written in dollars ($15.00); the code is not stated",
    "lender.payment_page_url": "a deployment address: each payment link is generated",
    "lender.support_hours_translated": "the support hours in Chinese and Spanish, for "
    "replies in those languages; the documents are English and state support_hours",
    "escalation.priorities": "internal routing of escalations; documents say 'as a priority'",
}


@dataclass(frozen=True)
class PolicyFact:
    key: str
    kind: str
    value: str
    required_in: tuple[str, ...]
    mentioned_in: tuple[str, ...] = ()

    def allowed_in(self, doc_id: str) -> bool:
        return (
            doc_id in self.required_in
            or doc_id in self.mentioned_in
            or ANY_DOCUMENT in self.mentioned_in
        )


@dataclass(frozen=True)
class Quantity:
    kind: str
    value: str
    snippet: str


@dataclass(frozen=True)
class Drift:
    doc_id: str
    problem: str  # "missing", "unexpected" or "missing_document"
    detail: str

    def __str__(self) -> str:
        return f"{self.doc_id}: {self.problem}: {self.detail}"


def config_leaves(data: Mapping, prefix: str = "") -> Iterator[tuple[str, object]]:
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from config_leaves(value, f"{path}.")
        else:
            yield path, value


def is_exempt(key: str) -> bool:
    return any(key == k or key.startswith(f"{k}.") for k in EXEMPT_KEYS)


def _canonical(kind: str, value: object) -> str:
    if kind == "money":
        return str(Decimal(str(value)).quantize(Decimal("0.01")))
    if kind == "text":
        return " ".join(str(value).split())
    return str(int(str(value)))


def policy_facts(policy: PolicyConfig) -> list[PolicyFact]:
    """The facts of ``policy`` with the documents they belong to.

    Raises ``KeyError`` naming a config value that is neither mapped nor exempt, so a
    new number in the config cannot silently escape the check.
    """
    leaves = dict(config_leaves(policy.model_dump(mode="json")))
    unmapped = [k for k in leaves if k not in FACT_DOCUMENTS and not is_exempt(k)]
    if unmapped:
        raise KeyError(f"policy config values without a document mapping: {unmapped}")
    facts = []
    for key, (kind, required, mentioned) in FACT_DOCUMENTS.items():
        facts.append(PolicyFact(key, kind, _canonical(kind, leaves[key]), required, mentioned))
    return facts


_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_WORD = (
    rf"(?:(?:{'|'.join(_TENS)})(?:[- ](?:{'|'.join(k for k in _UNITS if k != 'zero')}))?"
    rf"|{'|'.join(sorted(_UNITS, key=len, reverse=True))})"
)
_NUM = rf"(\d+|{_WORD})"


def _number(token: str) -> int:
    token = token.lower()
    if token.isdigit():
        return int(token)
    parts = re.split(r"[- ]", token)
    total = 0
    for part in parts:
        total += _TENS.get(part, 0) + _UNITS.get(part, 0)
    return total


_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("money", re.compile(r"\$\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")),
    ("day_of_month", re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b", re.IGNORECASE)),
    ("digits", re.compile(rf"\b{_NUM}[- ]digits?\b", re.IGNORECASE)),
    (
        "attempts",
        re.compile(
            rf"\b{_NUM} (?:failed |wrong |unsuccessful )?(?:attempts?|tries)\b", re.IGNORECASE
        ),
    ),
    (
        "duration",
        re.compile(
            rf"\b{_NUM}[- ](?:calendar |business |working )?(days?|hours?|months?|weeks?|years?)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "times",
        re.compile(
            rf"\b(once|twice|thrice|{_NUM} times)\b(?= (?:per|in|a|every|each)\b)", re.IGNORECASE
        ),
    ),
    ("open_promises", re.compile(rf"\b{_NUM} (?:open )?promises?\b", re.IGNORECASE)),
    ("number", re.compile(r"\d+(?:[.,]\d+)*")),
]
_TIMES_WORDS = {"once": 1, "twice": 2, "thrice": 3}


def _quantity(kind: str, match: re.Match[str]) -> Quantity:
    snippet = match.group(0)
    if kind == "money":
        whole = match.group(1).replace(",", "")
        cents = (match.group(2) or "0").ljust(2, "0")
        return Quantity("money", _canonical("money", f"{whole}.{cents}"), snippet)
    if kind == "duration":
        unit = match.group(2).lower()
        return Quantity(
            unit if unit.endswith("s") else f"{unit}s", str(_number(match.group(1))), snippet
        )
    if kind == "times":
        word = match.group(1).lower()
        count = _TIMES_WORDS.get(word) or _number(match.group(2))
        return Quantity("times", str(count), snippet)
    if kind == "number":
        return Quantity("number", snippet.replace(",", ""), snippet)
    return Quantity(kind, str(_number(match.group(1))), snippet)


def extract_quantities(text: str, literals: Iterable[str] = ()) -> tuple[list[Quantity], set[str]]:
    """The quantities stated in ``text``, and which ``literals`` it contains.

    Literal strings (the support phone number and hours) are matched first, with
    whitespace normalised, and their digits are not read as numbers.
    """
    text = " ".join(text.split())
    found_literals: set[str] = set()
    for literal in sorted(set(literals), key=len, reverse=True):
        if literal and literal in text:
            found_literals.add(literal)
            text = text.replace(literal, " " * len(literal))
    taken = [False] * len(text)
    quantities: list[tuple[int, Quantity]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(taken[start:end]):
                continue
            taken[start:end] = [True] * (end - start)
            quantities.append((start, _quantity(kind, match)))
    return [q for _, q in sorted(quantities, key=lambda item: item[0])], found_literals


def check_documents(documents: Iterable[KnowledgeDocument], policy: PolicyConfig) -> list[Drift]:
    """Every disagreement between the documents and the policy config (empty: none)."""
    facts = policy_facts(policy)
    literals = [f.value for f in facts if f.kind == "text"]
    drifts: list[Drift] = []
    by_id = {d.doc_id: d for d in documents}
    for fact in facts:
        for doc_id in fact.required_in:
            if doc_id not in by_id:
                drifts.append(Drift(doc_id, "missing_document", f"no document states {fact.key}"))
    for doc_id, document in sorted(by_id.items()):
        quantities, found_literals = extract_quantities(
            f"{document.title}\n{document.body}", literals
        )
        stated = {(q.kind, q.value) for q in quantities}
        for fact in facts:
            if doc_id not in fact.required_in:
                continue
            present = (
                fact.value in found_literals
                if fact.kind == "text"
                else ((fact.kind, fact.value) in stated)
            )
            if not present:
                drifts.append(
                    Drift(doc_id, "missing", f"{fact.key} = {fact.value!r} is not stated")
                )
        allowed = {(f.kind, f.value) for f in facts if f.allowed_in(doc_id)}
        for quantity in quantities:
            if (quantity.kind, quantity.value) not in allowed:
                drifts.append(
                    Drift(
                        doc_id,
                        "unexpected",
                        f"'{quantity.snippet}' ({quantity.kind} {quantity.value}) is not a "
                        "value of the policy config for this document",
                    )
                )
    return drifts
