"""Money amounts in customer text ("$165", "75 bucks", "a hundred and fifty", "pay 165",
"2k") and in replies and tool results (``money_mentions``: also "USD 165", "165.00"), the
named amounts ("the past due", "the payoff"), and lenient parsing of an amount given as a
tool argument ("$165", "165.5"). Pure and deterministic."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from agent.language.dates import MONTH_PATTERN, NOT_MAY_VERB
from agent.language.number_words import TEEN_WORDS, TENS_WORDS, words_to_number
from agent.language.phones import PHONE_RE
from agent.policy.calculations import to_money

_AMOUNT_RE = re.compile(
    r"(?:(?:\$|\busd)\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?)"
    r"|(?:\b(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s?(?:dollars?|bucks|usd)\b)",
    re.IGNORECASE,
)
# "165.00" without a currency mark: two decimals, not a version, a date, a time or a rate.
_CENTS_RE = re.compile(r"(?<![\w.,$])(\d{1,3}(?:,\d{3})+|\d+)\.(\d{2})(?!\w|[.,]\d)")
# "2k", "$1.5k", "2 grand" (not a 401k).
_THOUSANDS_RE = re.compile(
    r"(?<![\w.,])(?!40[13]k)\$?(\d{1,3}(?:\.\d{1,2})?)\s?(?:k|grand)\b", re.IGNORECASE
)
_NUMBER_WORD_RE = "|".join(
    sorted([*TEEN_WORDS, *TENS_WORDS, "hundred", "thousand", "grand"], key=len, reverse=True)
)
# A run of number words: "a hundred and fifty", "seventy-five", "one fifty", "a grand".
_WORD_RUN = re.compile(
    rf"\b(?:an?\s+(?=(?:hundred|thousand|grand)\b))?(?:{_NUMBER_WORD_RE})"
    rf"(?:(?:\s+and\s+|[\s-]+)(?:{_NUMBER_WORD_RE}))*\b",
    re.IGNORECASE,
)
# The verb (or "link for") whose object a bare number is: "pay 165", "i can do one fifty",
# "a link for 3542.71", "send like 200".
_AMOUNT_VERB = re.compile(
    r"\b(?:pay|paying|send|sending|promise|promising|put down|putting down|make|cover|"
    r"covering|give|giving|do|put|afford|manage|spare|link for|link of|payments? of|"
    r"payments? for|amount of)\s+(?:you\s+|u\s+|y'?all\s+|ya\s+)?"
    r"(?:(?:like|about|around|maybe|only|just|roughly|approximately|approx|up to|"
    r"at least|at most|another|an extra|extra)\s+)*$",
    re.IGNORECASE,
)
# What a number counts when it is not money: "ten days", "two loans", "one of them", "9am".
_NOT_MONEY_AFTER = re.compile(
    r"\s*-?\s*(?:st|nd|rd|th|days?|weeks?|wks?|months?|mos|years?|yrs?|hours?|hrs?|"
    r"minutes?|mins?|loans?|payments?|installments?|times?|people|percent|of|am|pm|"
    r"o'?clock)\b|\s*(?:%|/|:\d|-\d|a\.m|p\.m)"
    r"|\s*(?:to|-|and|till|until)\s*\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m|p\.m)",  # 10 to 2pm
    re.IGNORECASE,
)
_FILLER_ONLY = re.compile(
    r"(?:\s|[.!?,]|\b(?:about|around|like|maybe|um|uh|ok|okay|so|how|what|just|then|"
    r"dollars|bucks)\b)*",
    re.IGNORECASE,
)
_MONEY_AFTER = re.compile(r"\s*(?:dollars?|bucks|usd)\b", re.IGNORECASE)
# Spans that hold numbers but never money: dates, times, phones, ZIP codes, loan numbers.
_ISO_DATE = re.compile(r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b")
_NOT_AMOUNT_SPANS = (
    PHONE_RE,
    _ISO_DATE,
    re.compile(r"\b\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?\b"),
    re.compile(r"\b(?:zip|postal|post code|zipcode|zip code)\D{0,12}?\d{5}(?:-\d{4})?\b", re.I),
    re.compile(r"\b[a-z]{1,3}-?\d{1,10}\b", re.IGNORECASE),
    re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o'?clock)(?!\w)", re.I),
    re.compile(r"\b\d{1,2}:\d{2}\b"),
    re.compile(
        rf"\b(?:{MONTH_PATTERN})\.?\s+(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?"
        rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTH_PATTERN})\b{NOT_MAY_VERB}",
        re.IGNORECASE,
    ),
    re.compile(r"\b\d{1,2}(?:st|nd|rd|th)\b", re.IGNORECASE),
)


def _mask(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m[0]), text)


def _free(spans: list[tuple[int, int, Decimal]], start: int, end: int) -> bool:
    """True when ``start:end`` overlaps none of the amounts already found."""
    return all(end <= s or start >= e for s, e, _ in spans)


def _money_spans(text: str) -> list[tuple[int, int, Decimal]]:
    """Amounts marked as money: "$165", "75 dollars", "2k", "seventy five dollars"."""
    spans: list[tuple[int, int, Decimal]] = []
    for m in _THOUSANDS_RE.finditer(text):
        spans.append((m.start(), m.end(), (Decimal(m[1]) * 1000).quantize(Decimal("0.01"))))
    for m in _AMOUNT_RE.finditer(text):
        whole = (m[1] or m[3]).replace(",", "")
        cents = m[2] or m[4] or "0"
        if not _free(spans, m.start(), m.end()):
            continue
        try:
            spans.append((m.start(), m.end(), Decimal(f"{whole}.{cents.ljust(2, '0')}")))
        except InvalidOperation:
            continue
    return spans


def extract_amounts(text: str) -> list[Decimal]:
    """Money amounts, in order: written with ``$`` or a currency word ("$165", "75 bucks",
    "two hundred dollars", "a grand"), or a number paid ("pay 165", "i can do one fifty",
    "a link for 3542.71"). Dates, times, days, counts, phones, ZIP codes and loan
    numbers are never amounts."""
    return [value for _, _, value in amount_spans(text)]


def money_mentions(text: str) -> list[tuple[int, int, Decimal]]:
    """Every amount a reply or a tool result states, as ``(start, end, value)`` in order:
    those ``extract_amounts`` reads, and also a bare figure with cents ("165.00") that is
    not a rate, a time or part of a date or a version. Values are to the cent."""
    spans = amount_spans(text)
    masked = _mask(_mask(text, PHONE_RE), _ISO_DATE)
    for m in _CENTS_RE.finditer(masked):
        if not _free(spans, m.start(), m.end()) or _NOT_MONEY_AFTER.match(masked[m.end() :]):
            continue
        spans.append((m.start(), m.end(), Decimal(f"{m[1].replace(',', '')}.{m[2]}")))
    return sorted(((s, e, to_money(v)) for s, e, v in spans), key=lambda span: span[0])


def amount_spans(text: str) -> list[tuple[int, int, Decimal]]:
    """The amounts of ``extract_amounts`` with where they are: ``(start, end, value)``."""
    spans = _money_spans(text)
    masked = text
    for pattern in _NOT_AMOUNT_SPANS:
        masked = _mask(masked, pattern)
    for m in _WORD_RUN.finditer(masked):
        value = words_to_number(m[0])
        if value is None or not _free(spans, m.start(), m.end()):
            continue
        after = masked[m.end() :]
        not_money = _NOT_MONEY_AFTER.match(after) or _NOT_MONEY_AFTER.match(text[m.end() :])
        money = _MONEY_AFTER.match(after) or re.search(r"\bgrand\b", m[0], re.IGNORECASE)
        paid = value >= 10 and _AMOUNT_VERB.search(masked[: m.start()]) and not not_money
        # A reply that is only the number: "a hundred and fifty", "about fifteen hundred?".
        big = re.search(r"\b(hundred|thousand)\b", m[0], re.IGNORECASE)
        alone = big and _FILLER_ONLY.fullmatch(masked[: m.start()] + " " + masked[m.end() :])
        if money or paid or alone:
            spans.append((m.start(), m.end(), Decimal(value)))
    # "pay 165 on friday", "link for 1,000": a bare number right after a paying verb.
    for m in re.finditer(r"(?<![\w$.,])(\d{1,3}(?:,\d{3})+|\d{2,6})(\.\d{1,2})?\b", masked):
        if not _free(spans, m.start(), m.end()) or any(
            _NOT_MONEY_AFTER.match(t[m.end() :]) for t in (masked, text)
        ):
            continue
        if _AMOUNT_VERB.search(masked[: m.start()]):
            spans.append((m.start(), m.end(), Decimal(m[1].replace(",", "") + (m[2] or ""))))
    return sorted(spans, key=lambda s: s[0])


AMOUNT_KEYWORDS = (
    (
        "past_due",
        r"past[- ]?due|overdue|behind|missed (payment|installment)|what i missed|"
        r"late amount|catch up|caught up|arrears",
    ),
    (
        "payoff",
        r"pay ?off|payoff|full (balance|amount)|whole (balance|loan|thing|amount)|"
        r"entire (balance|loan)|everything i owe|close (out )?the loan|pay it all",
    ),
    (
        "next_due",
        r"next (payment|installment|bill)|this month'?s (payment|installment|bill)|"
        r"upcoming (payment|installment|bill)|regular (payment|installment)|"
        r"monthly (payment|installment|bill)|(payment|installment|bill) due on the|"
        rf"({MONTH_PATTERN})'?s? "
        r"(payment|installment|bill)|(payment|installment) early|pay (it|that) early",
    ),
)


_AMOUNT_KEYWORD_RES = tuple((name, re.compile(pattern)) for name, pattern in AMOUNT_KEYWORDS)


def extract_amount_keyword(text: str) -> str | None:
    t = text.lower()
    for name, pattern in _AMOUNT_KEYWORD_RES:
        if pattern.search(t):
            return name
    return None


def parse_amount(value: object) -> Decimal | None:
    """An amount given as a tool argument ("$165", "165.5", "1,000 dollars"), to the cent."""
    if value is None or isinstance(value, bool):
        return None
    text = re.sub(r"[\s$,]|usd|dollars?", "", str(value), flags=re.IGNORECASE)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return to_money(amount)
