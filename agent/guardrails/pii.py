"""Masking of payment and identity numbers in customer text (POLICY.md §5).

``mask_pii`` finds card numbers (Luhn-checked), bank account numbers and ABA routing
numbers (by nearby context words), US social security numbers, and a card's expiry
date and CVV, and replaces each with a mask that keeps at most the last four digits.

Dates, postal codes, amounts, phone numbers and loan numbers are left alone: a run of
digits only becomes an account number when it is long enough *and* a context word is
near it, and runs shaped like dates or phone numbers are never account numbers. A
number introduced as a phone ("phone", "cell", "mobile", "number on file", "call me at",
"tel") and shaped like a North American phone number ("734 5550191", "7345550191",
"1 734 555 0191") is a phone even with "account" nearby ("the phone on the account is
734 5550191"), unless a bank word stands between them ("my phone broke, my bank account
is ...") or the sentence ends first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.language.phones import grouped_like_phone, phone_shaped

CARD = "card"
BANK_ACCOUNT = "bank_account"
ROUTING_NUMBER = "routing_number"
SSN = "ssn"
CARD_EXPIRY = "card_expiry"
CARD_CVV = "card_cvv"


@dataclass(frozen=True)
class PIIFinding:
    kind: str
    start: int  # offsets in the original text
    end: int
    last4: str | None = None


@dataclass(frozen=True)
class PIIResult:
    text: str
    findings: list[PIIFinding] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.findings)

    def kinds(self) -> set[str]:
        return {f.kind for f in self.findings}


# A run of digits in groups joined by one space or dash, not glued to a word, an
# amount ($, decimal point, thousands comma), a slash date, or a phone's "+".
_DIGIT_RUN = re.compile(r"(?<![\w$.,/+\-])\d+(?:[ \-]\d+)*(?![\w/]|[.,]\d)")
_SSN_DASHED = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_SSN_SPACED = re.compile(r"^\d{3} \d{2} \d{4}$")
_CONTEXT_WINDOW = 48

_CONTEXT = re.compile(
    r"\b(?P<ssn>ssn|ss#|social\s+security(?:\s+(?:number|no\.?|#))?|social)\b"
    r"|\b(?P<routing>routing|aba|rtn|transit\s+number)\b"
    r"|(?P<account>\b(?:account|acct|acc|a/c|checking|savings|chequing|bank|iban|"
    r"deposit)\b|\bacc(?:oun)?t\s*(?:#|no\.?|num(?:ber)?))"
    r"|\b(?P<card>card|visa|master\s*card|amex|american\s+express|discover|debit|credit)\b",
    re.IGNORECASE,
)
_EXPIRY = re.compile(
    r"\b(?:exp(?:iry|iration|ires|ire|\.)?|valid\s+(?:thru|through|until)|good\s+thru)"
    r"(?:\s+date)?\s*[:\-]?\s*(?:is\s+|on\s+)?(?P<date>(?:0?[1-9]|1[0-2])\s*[/\-]\s*(?:\d{4}|\d{2}))\b",
    re.IGNORECASE,
)
_CVV = re.compile(
    r"\b(?:cvv2?|cvc2?|cid|csc|security\s+code|(?:3|three)[\s-]digit\s+code)"
    r"\s*(?:code)?\s*(?:is|was|=|:|#)?\s*(?P<code>\d{3,4})\b",
    re.IGNORECASE,
)
# What may follow a card number without a keyword: "09/28" then "123".
_TRAILING_EXPIRY = re.compile(r"^[\s,;]*(?P<date>(?:0?[1-9]|1[0-2])/(?:\d{4}|\d{2}))(?![\d/])")
_TRAILING_CVV = re.compile(r"^[\s,;]*(?P<code>\d{3,4})\b(?![.,/]\d)")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def aba_valid(digits: str) -> bool:
    if len(digits) != 9 or not digits.isdigit():
        return False
    d = [int(c) for c in digits]
    checksum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    return checksum % 10 == 0 and digits != "000000000"


def _looks_like_date(groups: list[str]) -> bool:
    if len(groups) != 3:
        return False
    lengths = [len(g) for g in groups]
    if lengths == [4, 2, 2] or (lengths[2] == 4 and lengths[0] <= 2 and lengths[1] <= 2):
        pair = groups[1:] if lengths[0] == 4 else groups[:2]
        low, high = sorted(int(g) for g in pair)
        return 1 <= low <= 12 and high <= 31
    return False


# Words that introduce a phone number.
_PHONE_WORD = re.compile(
    r"\b(?:phone|cell(?:phone)?|mobile|tel(?:ephone)?|ph|(?:contact|callback|home|work)\s+"
    r"(?:number|no\.?|#)|number\s+on\s+(?:file|the\s+account|my\s+account)|"
    r"(?:call|text|reach|ring)\s+(?:me|us)\s+(?:at|on))\b",
    re.IGNORECASE,
)
# Between a phone word and its number: what makes the number a bank number after all.
_BANK_WORDS = re.compile(
    r"\b(?:bank|checking|savings|chequing|iban|deposit|routing|aba|rtn|card|debit|credit|"
    r"ssn|social)\b|\bacc(?:oun)?t\s*(?:#|no\b|num)",
    re.IGNORECASE,
)


def _introduced_as_phone(text: str, start: int, end: int) -> bool:
    """A phone word before the number, in the same sentence, with no other number and
    no bank word between them; or one right after it ("7345550191 is my cell")."""
    before = text[max(0, start - _CONTEXT_WINDOW) : start]
    words = list(_PHONE_WORD.finditer(before))
    if words:
        between = before[words[-1].end() :]
        if end - start <= 8:  # the area code typed apart: "(734) 5550191"
            between = re.sub(r"(?:\+?1[\s.-]*)?\(\d{3}\)\s*$", "", between)
        if not re.search(r"\d|[.!?;](?:\s|$)", between) and not _BANK_WORDS.search(between):
            return True
    after = text[end : end + _CONTEXT_WINDOW // 2]
    word = _PHONE_WORD.search(after)
    if word and not _CONTEXT.search(before):
        between = after[: word.start()]
        return not re.search(r"\d|[.!?;]", between) and not _CONTEXT.search(between)
    return False


def _nearest_context(text: str, start: int, end: int) -> str | None:
    """The kind of the closest context word before the number (else just after it)."""
    before = text[max(0, start - _CONTEXT_WINDOW) : start]
    matches = list(_CONTEXT.finditer(before))
    if matches:
        return matches[-1].lastgroup
    after = text[end : end + _CONTEXT_WINDOW // 2]
    match = _CONTEXT.search(after)
    return match.lastgroup if match else None


def _find_cards(groups: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Spans of whole groups forming 13–19 Luhn-valid digits (longest first from each start)."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(groups):
        found = None
        digits = ""
        for j in range(i, len(groups)):
            digits += text[groups[j][0] : groups[j][1]]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                found = j
        if found is not None:
            spans.append((groups[i][0], groups[found][1]))
            i = found + 1
        else:
            i += 1
    return spans


def _classify_number(text: str, start: int, end: int) -> str | None:
    raw = text[start:end]
    groups = re.split(r"[ \-]", raw)
    digits = "".join(groups)
    if _SSN_DASHED.match(raw):
        return SSN
    if _looks_like_date(groups) or grouped_like_phone(groups):
        return None
    if phone_shaped(groups) and _introduced_as_phone(text, start, end):
        return None
    context = _nearest_context(text, start, end)
    if context == "ssn" and (len(digits) == 9 or _SSN_SPACED.match(raw)):
        return SSN
    if context == "card" and 13 <= len(digits) <= 19:
        return CARD  # a mistyped card number is still a card number
    if context == "routing" and aba_valid(digits):
        return ROUTING_NUMBER
    if context in ("routing", "account") and 6 <= len(digits) <= 17:
        return BANK_ACCOUNT
    return None


def _mask_for(kind: str, last4: str | None) -> str:
    if kind == CARD:
        return f"[card ending {last4}]"
    if kind == BANK_ACCOUNT:
        return f"[account ending {last4}]"
    if kind == ROUTING_NUMBER:
        return f"[routing number ending {last4}]"
    if kind == SSN:
        return "[SSN redacted]"
    if kind == CARD_EXPIRY:
        return "[expiry redacted]"
    return "[CVV redacted]"


def _overlaps(span: tuple[int, int], taken: list[PIIFinding]) -> bool:
    return any(span[0] < f.end and f.start < span[1] for f in taken)


def mask_pii(text: str) -> PIIResult:
    """Mask card, bank account, routing and social security numbers in ``text``."""
    findings: list[PIIFinding] = []

    for run in _DIGIT_RUN.finditer(text):
        offset = run.start()
        groups = [(m.start() + offset, m.end() + offset) for m in re.finditer(r"\d+", run.group())]
        total_digits = sum(b - a for a, b in groups)
        cards = _find_cards(groups, text) if total_digits >= 13 else []
        for start, end in cards:
            digits = re.sub(r"\D", "", text[start:end])
            findings.append(PIIFinding(CARD, start, end, digits[-4:]))
        if cards:
            # Leftover groups next to a card (e.g. a CVV typed after it) are handled below.
            continue
        kind = _classify_number(text, run.start(), run.end())
        if kind:
            digits = re.sub(r"\D", "", run.group())
            findings.append(
                PIIFinding(kind, run.start(), run.end(), None if kind == SSN else digits[-4:])
            )

    for card in [f for f in findings if f.kind == CARD]:
        tail_start = card.end
        match = _TRAILING_EXPIRY.match(text[tail_start:])
        if match:
            span = (tail_start + match.start("date"), tail_start + match.end("date"))
            if not _overlaps(span, findings):
                findings.append(PIIFinding(CARD_EXPIRY, *span))
            tail_start += match.end()
        match = _TRAILING_CVV.match(text[tail_start:])
        if match:
            span = (tail_start + match.start("code"), tail_start + match.end("code"))
            if not _overlaps(span, findings):
                findings.append(PIIFinding(CARD_CVV, *span))

    for pattern, group, kind in ((_EXPIRY, "date", CARD_EXPIRY), (_CVV, "code", CARD_CVV)):
        for match in pattern.finditer(text):
            span = (match.start(group), match.end(group))
            if not _overlaps(span, findings):
                findings.append(PIIFinding(kind, *span))

    findings.sort(key=lambda f: f.start)
    pieces: list[str] = []
    cursor = 0
    for finding in findings:
        pieces.append(text[cursor : finding.start])
        pieces.append(_mask_for(finding.kind, finding.last4))
        cursor = finding.end
    pieces.append(text[cursor:])
    return PIIResult("".join(pieces), findings)
