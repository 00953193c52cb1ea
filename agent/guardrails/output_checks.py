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
from decimal import Decimal
from functools import lru_cache
from urllib.parse import urlsplit

from agent.language.amounts import money_mentions
from agent.language.dates import MONTH_NAMES
from agent.language.loan_numbers import canonical, loan_numbers_shown
from agent.language.phones import phone_digits, phone_mentions
from agent.policy.config import PolicyConfig
from agent.policy.formatting import format_date

# Every reply is checked against every tool result of its conversation, and those repeat
# from turn to turn: what a text contains is computed once per text (pure functions).
TEXT_CACHE_SIZE = 4096

MONTHS = "|".join(MONTH_NAMES)
DATE_RE = re.compile(rf"\b({MONTHS})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,\s*(\d{{4}}))?\b")
ISO_RE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


@dataclass(frozen=True)
class Violation:
    kind: str
    detail: str


# --- links ------------------------------------------------------------------------------
# What a browser, the widget or a customer could follow: a URL with a scheme ("http://…",
# "//host/…"), a pseudo-URL that runs or opens something ("javascript:…", "data:…"), an
# e-mail address, and a bare host name with or without a path ("evil.example/pay",
# "www.evil.example", "10.0.0.1/pay"). Labels may be in any script (IDN); dots include
# the ideographic and full-width ones browsers read as dots.
_STOP = r"[^\s<>\"'`]"
_DOT = r"[.\u3002\uff0e\uff61]"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_HOST = rf"(?:{_LABEL}{_DOT})+(?:[^\W\d_]{{2,63}}|xn--[a-z0-9-]{{1,59}})(?![\w-])"
_IPV4 = r"(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)"
_URL_RE = re.compile(rf"(?i)(?<![\w+.-])(?:[a-z][a-z0-9+.-]*:)?//{_STOP}+")
_PSEUDO_RE = re.compile(
    rf"(?i)(?<![\w+.-])(javascript|vbscript|data|file|blob|intent|mailto|tel|sms|callto):{_STOP}+"
)
_EMAIL_RE = re.compile(rf"(?i)(?<![\w.+-])[\w.+-]+@({_HOST})")
_BARE_RE = re.compile(rf"(?i)(?<![\w.@/:-])(?:{_HOST}|{_IPV4})(?::\d{{1,5}})?(?:[/?#]{_STOP}*)?")
# Trailing characters that end a sentence or close a bracket, not the link.
_TRAILING = ".,;:!?)]}*_'\"\u3002"


# Chinese prose ends sentences with "。" ("已验证。请问", "$165.00。需要"), which the host
# pattern would read as a host name: a "host" whose last label is Chinese words rather
# than a Chinese top-level domain ("哈伯金融。中国") is a sentence end.
_IDEOGRAPHS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CHINESE_TLDS = frozenset(
    (
        *("中国", "中國", "公司", "网络", "網絡", "在线", "网址", "网店", "香港", "台湾"),
        *("台灣", "澳门", "澳門", "新加坡", "集团", "商城", "商店", "移动", "手机", "信息"),
        *("企业", "政务", "我爱你", "游戏", "购物"),
    )
)


def _chinese_prose(host: str) -> bool:
    last = re.split(_DOT, host.rstrip(_TRAILING))[-1]
    last = re.split(r"[:/?#]", last)[0]
    return bool(_IDEOGRAPHS.fullmatch(last)) and last not in _CHINESE_TLDS


@dataclass(frozen=True)
class Link:
    start: int
    end: int
    text: str
    kind: str  # url | pseudo | email | bare


@lru_cache(maxsize=TEXT_CACHE_SIZE)
def links_in(text: str) -> tuple[Link, ...]:
    """Everything in ``text`` that a browser, the widget or a reader could follow as a
    link, in order (trailing sentence punctuation is not part of a link)."""
    found: list[Link] = []
    masked = text
    for kind, pattern in (
        ("url", _URL_RE),
        ("pseudo", _PSEUDO_RE),
        ("email", _EMAIL_RE),
        ("bare", _BARE_RE),
    ):
        for m in pattern.finditer(masked):
            raw = m[0].rstrip(_TRAILING) or m[0]
            if kind == "bare" and _chinese_prose(raw):
                continue
            found.append(Link(m.start(), m.start() + len(raw), raw, kind))
        masked = pattern.sub(lambda m: " " * len(m[0]), masked)
    return tuple(sorted(found, key=lambda link: link.start))


@lru_cache(maxsize=TEXT_CACHE_SIZE)
def without_urls(text: str) -> str:
    """``text`` with every link blanked out (loan numbers and figures in links are not
    statements)."""
    for link in links_in(text):
        text = text[: link.start] + " " * (link.end - link.start) + text[link.end :]
    return text


def ascii_host(host: str) -> str | None:
    """A host name as the browser resolves it: lower case, no final dot, IDN labels in
    punycode; None when it cannot be one."""
    host = re.sub(_DOT, ".", host).strip().lower().rstrip(".")
    if not host:
        return None
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def host_allowed(host: str | None, domains: Iterable[str]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one ("pay.harborcf.example")."""
    name = ascii_host(host or "")
    if name is None:
        return False
    for domain in domains:
        allowed = ascii_host(domain)
        if allowed and (name == allowed or name.endswith("." + allowed)):
            return True
    return False


def _url_allowed(url: str, domains: Iterable[str]) -> bool:
    """An http(s) URL whose host is one of the lender's, without user info (the host of
    "https://harborcf.example@evil.com" is evil.com); parsed as browsers do, a backslash
    being a slash."""
    try:
        parts = urlsplit(url.replace("\\", "/"))
        host = parts.hostname
        _ = parts.port  # a port that is not a number makes the URL unusable
    except ValueError:
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and "@" not in parts.netloc
        and host_allowed(host, domains)
    )


def issued_urls(evidence: Iterable[str]) -> set[str]:
    """The URLs tool results of the conversation gave (a payment link)."""
    return {link.text for text in evidence for link in links_in(text) if link.kind == "url"}


def check_links(
    reply: str,
    lender_domains: Iterable[str],
    issued: Iterable[str] = (),
    emails: Iterable[str] = (),
) -> list[Violation]:
    """Links only to the lender's own domains (subdomains included) or exactly as a tool
    of this conversation issued them; e-mail addresses only at those domains or the
    customer's own; never a script, data or file pseudo-URL. Phone links (tel:, sms:) are
    left to ``check_phones``."""
    domains = tuple(lender_domains)
    issued_set = set(issued)
    issued_bare = {re.sub(r"(?i)^[a-z][a-z0-9+.-]*://", "", url) for url in issued_set}
    own_emails = {e.strip().lower() for e in emails if e}
    violations = []
    for link in links_in(reply):
        text = link.text
        if link.kind == "url":
            absolute = f"https:{text}" if text.startswith("//") else text
            ok = text in issued_set or _url_allowed(absolute, domains)
        elif link.kind == "bare":
            ok = text in issued_bare or _url_allowed(f"http://{text}", domains)
        elif link.kind == "email":
            address = text.lower()
            ok = address in own_emails or host_allowed(address.rsplit("@", 1)[1], domains)
        else:
            scheme, _, rest = text.partition(":")
            scheme = scheme.lower()
            if scheme in ("tel", "sms", "callto"):
                continue
            address = rest.split("?", 1)[0].lower()
            ok = scheme == "mailto" and (
                address in own_emails
                or ("@" in address and host_allowed(address.rsplit("@", 1)[1], domains))
            )
        if not ok:
            violations.append(Violation("link_not_allowed", text[:200]))
    return violations


# --- phone numbers ----------------------------------------------------------------------


def policy_phones(policy: PolicyConfig) -> list[str]:
    """The phone numbers the policy file gives (support line, crisis line, any other)."""
    cached = _POLICY_PHONES.get(id(policy))
    if cached is None or cached[0] is not policy:  # an id can be reused once freed
        cached = (policy, tuple(_policy_phones(policy)))
        _POLICY_PHONES[id(policy)] = cached
    return list(cached[1])


# A policy is loaded once per process and never changes; walking it costs ~1 ms a reply.
_POLICY_PHONES: dict[int, tuple[PolicyConfig, tuple[str, ...]]] = {}


def _policy_phones(policy: PolicyConfig) -> list[str]:
    numbers = [policy.lender.support_phone, policy.crisis_line]

    def walk(value: object) -> None:
        if isinstance(value, str):
            numbers.extend(m.text for m in phone_mentions(value))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(policy.model_dump(mode="json"))
    return numbers


def check_phones(reply: str, allowed: Iterable[str]) -> list[Violation]:
    """Only the allowed phone numbers (the policy's, the customer's own on file), however
    they are written; a number written short ("555-0199") counts as the allowed number
    it ends, never the other way round."""
    allowed_digits = {d for d in (phone_digits(a) for a in allowed if a) if d}
    violations = []
    for mention in phone_mentions(without_urls(reply)):
        digits = phone_digits(re.sub(r"(?i)\s*(?:x|ext\.?|extension)\s*\d+$", "", mention.text))
        if not any(
            a == digits or (len(digits) >= 7 and a.endswith(digits)) for a in allowed_digits
        ):
            violations.append(Violation("phone_not_allowed", mention.text))
    return violations


# --- figures ----------------------------------------------------------------------------


@lru_cache(maxsize=TEXT_CACHE_SIZE)
def money_values(text: str) -> frozenset[Decimal]:
    """The amounts ``text`` states in any form ("$1,234", "165 dollars", "USD 165",
    "165.00", "one hundred and sixty-five dollars"), links set aside."""
    return frozenset(value for _, _, value in money_mentions(without_urls(text)))


def evidence_amounts(texts: Iterable[str]) -> set[Decimal]:
    found: set[Decimal] = set()
    for text in texts:
        found |= money_values(text)
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
            violations.append(Violation("amount_not_grounded", f"${amount:,.2f}"))
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
