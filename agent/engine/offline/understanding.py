"""From a customer message to a plan: the tasks (intents with slots) and identity details."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from agent.engine.offline import slots
from agent.engine.offline.intents import IntentMatcher

ACCOUNT_INTENTS = {
    "balance", "past_due", "next_payment", "payoff", "payment_history", "fees_info",
    "payment_link", "promise_to_pay", "due_date_change", "deferral", "fee_waiver",
    "contact_preferences", "loan_list",
}
SOCIAL_INTENTS = {"greeting", "thanks", "goodbye", "affirm", "deny"}
WRITE_INTENTS = {"promise_to_pay", "due_date_change", "deferral", "fee_waiver"}
SECOND_INTENT_MIN = 0.62

_DNC = re.compile(
    r"\b(stop (all )?(contact(ing)?|communication)|do not contact|don.?t contact|"
    r"cease (all )?(contact|communication)|leave me alone|never contact|no contact at all|"
    r"stop (calling|contacting),? (texting|emailing)? ?(and|or)? ?(texting|emailing|calling)? me "
    r"(at all|entirely|completely)|stop all)\b", re.IGNORECASE)
_OPT_IN = re.compile(r"\b(you can|ok to|okay to|please|start|resume) (text|email|e-mail|call)",
                     re.IGNORECASE)
_NEGATIVE_CONTACT = re.compile(r"\b(stop|no more|don.?t|do not|opt ?out|unsubscribe|quit|"
                               r"never|without)\b", re.IGNORECASE)


def identity_slots(text: str) -> dict[str, Any]:
    dob = slots.extract_birth_date(text)
    postal = slots.extract_postal_code(text)
    loan_number = slots.extract_loan_number(text)
    phone = None
    if not loan_number and re.search(r"\d{3}\D{0,2}\d{3}\D?\d{4}|\b\d{3}-\d{4}\b", text):
        phone = slots.extract_phone(text)
    return {
        "dob": dob.isoformat() if dob else None,
        "zip": postal,
        "loan_number": loan_number,
        "phone": phone,
    }


def contact_changes(text: str) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if _DNC.search(text):
        return {"do_not_contact": True}
    channels = slots.extract_channels(text)
    hours = slots.extract_contact_hours(text)
    only = re.search(r"\bonly\b", text, re.IGNORECASE)
    if channels:
        if only and not _NEGATIVE_CONTACT.search(text):
            for name in ("sms", "email", "calls"):
                changes[name] = name in channels
        elif _NEGATIVE_CONTACT.search(text):
            for name in channels:
                changes[name] = False
        elif _OPT_IN.search(text):
            for name in channels:
                changes[name] = True
    if hours:
        changes["contact_hours"] = hours
    return changes


def task_slots(intent: str, text: str, today: date) -> dict[str, Any]:
    found: dict[str, Any] = {}
    amounts = slots.extract_amounts(text)
    if amounts:
        found["amount"] = str(amounts[0])
    keyword = slots.extract_amount_keyword(text)
    if keyword:
        found["amount_keyword"] = keyword
    if intent in {"promise_to_pay", "payment_link"}:
        when = slots.extract_date(text, today)
        if when:
            found["date"] = when.value.isoformat()
    if intent == "due_date_change":
        day = slots.extract_day_of_month(text)
        if day is not None:
            found["day"] = day
    if intent == "contact_preferences":
        found["changes"] = contact_changes(text)
    loan = slots.extract_loan_number(text)
    if loan:
        found["loan_id"] = loan
    return found


def understand(matcher: IntentMatcher, text: str, today: date) -> dict[str, Any]:
    """The plan for one message: ordered tasks plus any identity details it carries."""
    identity = identity_slots(text)
    ranked = matcher.rank(text)
    tasks: list[dict[str, Any]] = []
    top = ranked[0] if ranked else None
    has_identity = bool(identity["dob"] or identity["zip"] or identity["phone"])
    top_ok = top is not None and (top.cue or top.score >= 0.5)
    # A message that is mostly identity details ("1988-04-12, zip 73301") has no task.
    if top_ok and not (has_identity and not top.cue and top.similarity < 0.6):
        tasks.append({"intent": top.intent, "score": round(top.score, 3)})
        for other in ranked[1:4]:
            if (
                other.cue
                and other.score >= SECOND_INTENT_MIN
                and other.intent not in SOCIAL_INTENTS
                and top.intent not in SOCIAL_INTENTS | {"out_of_scope"}
                and other.intent != "out_of_scope"
                and not _same_family(top.intent, other.intent)
            ):
                tasks.append({"intent": other.intent, "score": round(other.score, 3)})
                break
    tasks = _resolve_conflicts(tasks, text)
    for task in tasks:
        task["slots"] = task_slots(task["intent"], text, today)
    # Reads before writes, so a reply states figures before proposing an action.
    tasks.sort(key=lambda t: t["intent"] in WRITE_INTENTS)
    affirmative = bool(re.match(r"^\s*(yes|yeah|yep|yup|sure|ok|okay|please|go ahead|y)\b", text,
                                re.IGNORECASE))
    return {"tasks": tasks, "identity": identity, "affirmative_start": affirmative}


_FAMILIES = [
    {"balance", "past_due", "next_payment", "payoff", "loan_list"},
    {"payment_link", "how_to_pay"},
]


def _same_family(a: str, b: str) -> bool:
    return any(a in fam and b in fam for fam in _FAMILIES)


def _resolve_conflicts(tasks: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    intents = [t["intent"] for t in tasks]
    # "pay with my credit card" is about paying, not a credit-card product.
    if "out_of_scope" in intents and re.search(r"\b(pay|payment)\b", text, re.IGNORECASE) and \
            re.search(r"\b(my|the) (loan|payment|balance|past due|bill)\b|\bpay (with|by)\b",
                      text, re.IGNORECASE):
        tasks = [t for t in tasks if t["intent"] != "out_of_scope"] or [
            {"intent": "how_to_pay", "score": 1.0}]
    # A promise to pay that also mentions what is past due is one task, not two.
    if {"promise_to_pay", "past_due"} <= {t["intent"] for t in tasks}:
        tasks = [t for t in tasks if t["intent"] != "past_due"]
    if {"payment_link", "past_due"} <= {t["intent"] for t in tasks}:
        tasks = [t for t in tasks if t["intent"] != "past_due"]
    if {"payment_link", "promise_to_pay"} <= {t["intent"] for t in tasks}:
        has_future_date = re.search(r"\b(friday|monday|tuesday|wednesday|thursday|saturday|"
                                    r"sunday|tomorrow|next|the \d|on \w+ \d)", text, re.I)
        drop = "payment_link" if has_future_date else "promise_to_pay"
        tasks = [t for t in tasks if t["intent"] != drop]
    return tasks
