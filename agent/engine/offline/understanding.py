"""From a customer message to a plan: the tasks (intents with slots) and identity details.

Steps, all deterministic:

1. normalise spelling and slang (``agent.language.normalize``), for intents and slots only:
   identity details (date of birth, ZIP, loan and phone numbers) are read from the
   original text;
2. a few high-precision escalation cues (a request for a person, a dispute) that the
   engine acts on itself when the input classifier let the message through;
3. intent ranking (the trained intent model's probabilities + cue patterns,
   :mod:`intents`), up to two tasks; below the model's validation-chosen threshold
   (and with no cue) nothing is acted on: the plan names the likeliest intents
   (``clarify``) for a clarifying question;
4. structure that embeddings miss: paying on a future date is a promise to pay, paying
   now is a payment link, a due-date change is not a promise to pay;
5. slots per task (amounts, dates, days of month, contact changes, loan numbers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from agent.engine.offline.intent_model import Thresholds
from agent.engine.offline.intents import IntentMatcher, IntentScore, looks_like_noise
from agent.engine.offline.language_intents import LanguageIntentModel
from agent.language.amounts import extract_amount_keyword, extract_amounts
from agent.language.contact import extract_channels, extract_contact_hours
from agent.language.dates import (
    MONTH_PATTERN,
    MONTHS,
    extract_birth_date,
    extract_date,
    extract_day_of_month,
)
from agent.language.loan_numbers import first_loan_number
from agent.language.localized import canonical
from agent.language.normalize import normalize
from agent.language.phones import extract_phone, might_hold_phone
from agent.language.postal_codes import extract_postal_code

ACCOUNT_INTENTS = {
    "balance",
    "past_due",
    "next_payment",
    "payoff",
    "payment_history",
    "fees_info",
    "payment_link",
    "promise_to_pay",
    "due_date_change",
    "deferral",
    "fee_waiver",
    "contact_preferences",
    "loan_list",
}
READ_INTENTS = {
    "balance",
    "past_due",
    "next_payment",
    "payoff",
    "payment_history",
    "fees_info",
    "loan_list",
}
SOCIAL_INTENTS = {"greeting", "thanks", "goodbye", "affirm", "deny"}
WRITE_INTENTS = {"promise_to_pay", "due_date_change", "deferral", "fee_waiver"}
# The thresholds on the model's probabilities (act / write without a cue / stand against
# a cue) come with the trained model: ``matcher.thresholds`` (chosen on validation data).
CLARIFY_EXCLUDED = SOCIAL_INTENTS | {"out_of_scope"}
MIN_BIRTH_AGE_YEARS = 16

_DNC = re.compile(
    r"\b(stop (all )?(contact(ing)?|communications?)|do not contact|don.?t contact|"
    r"cease (all )?(contact|communications?)|leave me alone|never contact|no contact at all|"
    r"stop (calling|contacting),? (texting|emailing)? ?(and|or)? ?(texting|emailing|calling)? me "
    r"(at all|entirely|completely)|stop all(?!\s+(the\s+)?(texts?|calls?|e-?mails?|messages?))|"
    r"by any (method|means|channel)|take me off (all )?(of )?(your|the) (lists?|call lists?)|"
    r"(don.?t|do not|never) want to hear from (you|u)|lose my (number|info|details|contact)|"
    r"(done|finished|through) hearing from (you|u|y.?all|your company)|"
    r"(any|all) (form|forms|kind|way)s? of (contact|communication)|"
    r"no calls,? no texts|nothing at all)\b",
    re.IGNORECASE,
)
_NEGATIVE = re.compile(
    r"\b(stop|no|no more|don.?t|didn.?t|do not|can.?t|cannot|can not|won.?t|opt ?out|"
    r"unsubscribe|quit|"
    r"never|without|not|remove|cancel|off|blowing up|rather not)\b",
    re.IGNORECASE,
)
_POSITIVE = re.compile(
    r"\b(you can|ok to|okay to|fine|ok|okay|good|prefer|start|resume|back on|on again|"
    r"switch on|turn on|only|rather|is best|are best|works)\b",
    re.IGNORECASE,
)
_CLAUSE_SPLIT = re.compile(r"[,.;!?]|\bbut\b|\bhowever\b|\bexcept\b", re.IGNORECASE)

_PAY_VERB = re.compile(
    r"\b(pay|paying|send|sending|cover|make (the|a|my|this) payment|"
    r"get (you|u) (the )?(money|payment)|promise|settle|"
    r"get (it|this|that|the [a-z]+( [a-z]+)?) paid|"
    r"change (that|it|the promise|my promise) to (the full |a |the )?\$?\d|"
    r"do (?=\$?\d|a (hundred|grand)|(one|two|three|four|five|six|seven|eight|nine) hundred|"
    r"(it|that|the (rest|past due|payment))\b))",
    re.IGNORECASE,
)
# "what if I pay late?" asks about consequences; "what if I pay $200 on the 30th" offers.
_CONSEQUENCE = re.compile(
    r"\b(fee|fees|charge|charged|penalty|happen|happens|late|credit|score|interest|affect|"
    r"cost|would it be|how much would)\b",
    re.IGNORECASE,
)
_PROMISE_WORDS = re.compile(
    r"\b(promise|promising|will pay|will send|i'?ll|i can|i could|can i|could i|going to|"
    r"able to|get paid|payday|paycheck|pay ?check|until|by|later)\b",
    re.IGNORECASE,
)
_NOW_WORDS = re.compile(r"\b(now|right now|today|immediately|online|this minute)\b", re.IGNORECASE)
_REQUEST = re.compile(
    r"\b(can i (get|have|do)|i want|i'?d like|i need|please|set (it|one|that) up|"
    r"sign me up)\b",
    re.IGNORECASE,
)
_PAST_PAYMENT = re.compile(
    r"\b((already|just) (scheduled|set up|made|sent|paid|submitted)|i (scheduled|set up|made|"
    r"sent|submitted) (a|the|my) payment)\b",
    re.IGNORECASE,
)
_HYPOTHETICAL = re.compile(
    r"\b(what if|if i (wanted|were|was|pay|paid)|how much would|would it (be|cost))\b",
    re.IGNORECASE,
)
_DUE_DATE_WORDS = re.compile(
    r"\b(due ?date|due day|payment date|payment day|billing day|(?<!past )due on the|be due|"
    r"come due|due (every|each) month|(each|every) month|going forward|from now on|"
    r"(fall|land) on the|rather than the|date (i|we) pay each month|"
    r"(beginning|start|middle) of (the|each|every) month)\b",
    re.IGNORECASE,
)

# Escalations the engine recognises itself (the input classifier runs first).
ESCALATION_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "dispute",
        re.compile(
            r"\b((that|this|it|the (amount|balance|fee|late fee|charge|figure))('?s| is| was| are)"
            r" (wrong|incorrect|not right|not correct|a mistake|an error)|"
            r"i (never|didn'?t|did not|have never|haven'?t) miss(ed)? (a|any|one) payments?|"
            r"(is|are|was|were) (wrong|incorrect)[,.]? (my|the) (balance|amount)|"
            r"should be (much |a lot )?(lower|less|smaller)|i don'?t owe (that|this|you|anything)|"
            r"(not|never) (been )?(credited|applied|posted)|"
            r"i (already |just )?paid\b.{0,60}\b(still (says|shows|say|show)|why (does|is) it))\b",
            re.IGNORECASE,
        ),
    ),
    (
        "human_request",
        re.compile(
            r"\b((talk|speak|chat) (to|with) (a |an |some|the |your )?(real |live |actual )?"
            r"(human|person|agent|representative|rep|supervisor|manager|someone|somebody)|"
            r"(want|need|like|get|give|request)( me)? (to (talk|speak) to )?(a |an )?"
            r"(real |live |actual )?(human|person|agent|representative|supervisor|manager)\b"
            r"(?! (is|was|said|told|called))|"
            r"(connect|transfer|put) me (through )?(to|with) (a |an |your )?"
            r"(human|person|agent|representative|supervisor|manager|someone))\b",
            re.IGNORECASE,
        ),
    ),
)


def identity_slots(
    text: str, today: date | None = None, own_loans: Sequence[str] = ()
) -> dict[str, Any]:
    dob = extract_birth_date(text)
    if dob and today and (today.year - dob.year) < MIN_BIRTH_AGE_YEARS:
        dob = None  # "3/18/2026" is a payment date, not a birthday
    postal = extract_postal_code(text)
    loan_number = first_loan_number(text, own_loans)
    phone = None
    if not loan_number and might_hold_phone(text):
        phone = extract_phone(text)
    return {
        "dob": dob.isoformat() if dob else None,
        "zip": postal,
        "loan_number": loan_number,
        "phone": phone,
    }


def contact_changes(text: str) -> dict[str, Any]:
    """Channel opt-outs/opt-ins, contact hours, or a stop-all-contact request."""
    if _DNC.search(text):
        return {"do_not_contact": True}
    changes: dict[str, Any] = {}
    hours = extract_contact_hours(text)
    # "only call me between 9 and 5" limits the hours, not the channels.
    only = re.search(r"\bonly\b", text, re.IGNORECASE) and not hours
    for clause in _CLAUSE_SPLIT.split(text):
        channels = extract_channels(clause)
        if not channels:
            continue
        negative = bool(_NEGATIVE.search(clause))
        if only and not negative:
            for name in ("sms", "email", "calls"):
                changes.setdefault(name, name in channels)
            for name in channels:
                changes[name] = True
        elif negative:
            for name in channels:
                changes[name] = False
        elif _POSITIVE.search(clause):
            for name in channels:
                changes[name] = True
    if hours:
        changes["contact_hours"] = hours
    return changes


def task_slots(
    intent: str, text: str, today: date, own_loans: Sequence[str] = ()
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    amounts = extract_amounts(text)
    if amounts:
        found["amount"] = str(amounts[0])
    keyword = extract_amount_keyword(text)
    if keyword:
        found["amount_keyword"] = keyword
    if intent in {"promise_to_pay", "payment_link"}:
        when = extract_date(text, today)
        if when:
            found["date"] = when.value.isoformat()
    if intent == "due_date_change":
        day = extract_day_of_month(text)
        if day is not None:
            found["day"] = day
    if intent == "contact_preferences":
        found["changes"] = contact_changes(text)
    loan = first_loan_number(text, own_loans)
    if loan:
        found["loan_id"] = loan
    return found


_NOT_UNTIL = re.compile(
    r"\b(can'?t|cannot|can not|won'?t|will not|unable|not able|don'?t|do not|"
    r"no (money|income|cash|funds|paycheck)|nothing|broke|zero|not a (cent|dime|penny))\b"
    r"[^.?!;]{0,50}?\b(until|till|til|before)\b",
    re.IGNORECASE,
)
_MONTH_ONLY = re.compile(
    r"\b(?:mid|early|late|the end of|end of)?\s*(" + MONTH_PATTERN + r")\b",
    re.IGNORECASE,
)


def cannot_pay_until(text: str, today: date) -> date | None:
    """ "I won't have anything until June": the first day the customer says they can
    pay (a month alone means its first day), or None."""
    match = _NOT_UNTIL.search(text)
    if match is None:
        return None
    after = text[match.end() :]
    found = extract_date(after, today)
    if found is not None:
        return found.value
    month = _MONTH_ONLY.search(after[:40])
    if month is None:
        return None
    number = MONTHS[month[1].lower()]
    year = today.year + (1 if number < today.month else 0)
    return date(year, number, 1) if number != today.month else None


def escalation_cue(text: str) -> str | None:
    for reason, pattern in ESCALATION_CUES:
        if pattern.search(text):
            return reason
    return None


def understand(
    matcher: IntentMatcher,
    text: str,
    today: date,
    own_loans: Sequence[str] = (),
    promise_days: int | None = None,
) -> dict[str, Any]:
    """The plan for one message: ordered tasks plus any identity details it carries.
    ``own_loans``: the verified customer's loan numbers (recognised in any shape);
    ``promise_days``: how far ahead a promise may go (beyond it, "can't pay until" is
    hardship)."""
    identity = identity_slots(text, today, own_loans)
    norm = normalize(text)
    reason = escalation_cue(norm)
    beyond_window = False
    if reason is None and promise_days is not None:
        until = cannot_pay_until(norm, today)
        if until is not None and (until - today).days > promise_days:
            reason, beyond_window = "hardship", True
    split = None if reason else split_payment(norm, today, own_loans)
    clarify: list[str] = []
    if reason:
        found: dict[str, Any] = {"reason": reason}
        if beyond_window:
            found["beyond_promise_window"] = True
        tasks: list[dict[str, Any]] = [
            {"intent": "escalate", "score": 1.0, "cue": True, "slots": found}
        ]
    elif split is not None:
        tasks = split
    else:
        ranked = matcher.rank(norm)
        th = matcher.thresholds
        tasks = _pick_tasks(ranked, norm, identity, th)
        tasks = _structural(tasks, norm, today, th)
        tasks = [t for t in _resolve_conflicts(tasks, norm, today) if not _weak_write(t, th)]
        if _noise_only(tasks) and looks_like_noise(norm):
            tasks = []  # "blorp zzzt qwerty": not understood, not an off-topic question
        elif not tasks:
            clarify = _clarify(ranked, identity, th)
        for task in tasks:
            task["slots"] = task_slots(task["intent"], norm, today, own_loans)
        # Reads before writes, so a reply states figures before proposing an action.
        tasks.sort(key=lambda t: t["intent"] in WRITE_INTENTS)
    plan = {"tasks": tasks, "identity": identity, "text": norm}
    if not tasks and clarify:
        plan["clarify"] = clarify
    return plan


_REST = re.compile(
    r"\b(the rest|rest of (it|the (amount|balance|money|past due))|(the )?remainder|"
    r"(the )?remaining( balance| amount| part)?|what'?s left|everything else|the other part|"
    r"the balance)\b",
    re.IGNORECASE,
)
_PART_NOW = re.compile(r"\b(do|give|send|put( down)?|pay|paying|cover|make)\b", re.IGNORECASE)


def split_payment(
    text: str, today: date, own_loans: Sequence[str] = ()
) -> list[dict[str, Any]] | None:
    """ "$50 now and the rest on Friday": a payment link for the part paid now, and a
    promise to pay the rest (of what is due) on the date named after it."""
    rest = _REST.search(text)
    if rest is None or _HYPOTHETICAL.search(text):
        return None
    before, after = text[: rest.start()], text[rest.end() :]
    amounts = extract_amounts(before)
    if len(amounts) != 1 or not _NOW_WORDS.search(before) or not _PART_NOW.search(before):
        return None
    when = extract_date(after, today)
    if (when is not None and when.value <= today) or _NOW_WORDS.search(after):
        return None  # all of it today: not a split
    loan = first_loan_number(text, own_loans)
    shared = {"loan_id": loan} if loan else {}
    promise: dict[str, Any] = {"amount_keyword": "remainder", "paid_now": str(amounts[0])}
    if when is not None:
        promise["date"] = when.value.isoformat()
    return [
        {
            "intent": "payment_link",
            "score": 1.0,
            "cue": True,
            "slots": {"amount": str(amounts[0]), **shared},
        },
        {"intent": "promise_to_pay", "score": 1.0, "cue": True, "slots": {**promise, **shared}},
    ]


def _noise_only(tasks: list[dict[str, Any]]) -> bool:
    """No task, or only the model's out-of-scope guess (no cue): what noise reads as."""
    return not tasks or (
        [t["intent"] for t in tasks] == ["out_of_scope"] and not tasks[0].get("cue")
    )


def _acts_on(top: IntentScore, th: Thresholds) -> bool:
    """A cue, or a probability over the threshold (a write needs more)."""
    floor = th.write if top.intent in WRITE_INTENTS else th.act
    return top.cue or top.probability >= floor


def _clarify(ranked: list[IntentScore], identity: dict[str, Any], th: Thresholds) -> list[str]:
    """The likeliest intents to ask about when the model is not sure enough to act."""
    has_identity = any(identity[k] for k in ("dob", "zip", "phone", "loan_number"))
    if not ranked or has_identity or _acts_on(ranked[0], th):
        return []
    if ranked[0].intent in CLARIFY_EXCLUDED:
        return []
    return [r.intent for r in ranked[:3] if r.intent not in CLARIFY_EXCLUDED][:2]


def _pick_tasks(
    ranked: list[IntentScore], text: str, identity: dict[str, Any], th: Thresholds
) -> list[dict[str, Any]]:
    ranked = _prefer_cues(ranked, th)
    top = ranked[0] if ranked else None
    if top is None or not _acts_on(top, th):
        return []  # not sure enough to act: the plan asks a clarifying question
    has_identity = bool(
        identity["dob"] or identity["zip"] or identity["phone"] or identity["loan_number"]
    )
    # A message that is mostly identity details ("1988-04-12, zip 73301", "my loan number
    # is L100") has no task; nor has one the model reads as out of scope (its catch-all:
    # "sorry, april 12 1988" is an answer, not an off-topic question).
    if (
        has_identity
        and not top.cue
        and (top.probability < th.confident or top.intent == "out_of_scope" or _identity_only(text))
    ):
        return []
    tasks = [_task(top)]
    if top.intent in {"affirm", "deny"}:
        # "no actually, send me a link": the answer and a new request.
        other = next(
            (o for o in ranked[1:] if o.cue and o.intent not in SOCIAL_INTENTS | {"out_of_scope"}),
            None,
        )
        return [*tasks, _task(other)] if other else tasks
    for other in ranked[1:]:
        if (
            other.cue
            and other.intent not in SOCIAL_INTENTS
            and top.intent not in SOCIAL_INTENTS | {"out_of_scope"}
            and other.intent != "out_of_scope"
            and not _same_family(top.intent, other.intent)
            # "a link for the past due, and stop calling me": the amount named in a
            # payment is not a second request; look further.
            and not (
                top.intent in {"payment_link", "promise_to_pay"}
                and _only_amount_cue(other.intent, text)
            )
        ):
            tasks.append(_task(other))
            break
    return tasks


_IDENTITY_WORDS = re.compile(
    r"\b(my|the|is|it'?s|and|loan|number|no|#|id|phone|cell|mobile|on file|date of birth|dob|"
    r"birthday|born|on|zip|zipcode|code|postal|here|this|hi|hello|hey|ok|okay|sure|yes|"
    r"name|i'?m|am|of|that|was|me)\b",
    re.IGNORECASE,
)


def _identity_only(text: str) -> bool:
    """True when nothing but identity details and filler words is left."""
    rest = re.sub(r"\d[\d\s().+/-]*|\b[a-z]{1,3}-?\d{3,10}\b", " ", text, flags=re.IGNORECASE)
    rest = re.sub(r"\b(" + "|".join(MONTHS) + r")\b", " ", rest, flags=re.IGNORECASE)
    rest = _IDENTITY_WORDS.sub(" ", rest)
    return not re.search(r"[a-z]{3,}", rest, re.IGNORECASE)


def _prefer_cues(ranked: list[IntentScore], th: Thresholds) -> list[IntentScore]:
    """A cue (a pattern written for the intent) beats the model's top intent unless the
    model is confident (validation-chosen ``th.confident``)."""
    # The model's catch-all (out_of_scope) never stands against a cue for one of ours.
    top = ranked[0] if ranked else None
    if top is None or top.cue or (top.probability >= th.confident and top.intent != "out_of_scope"):
        return ranked
    cued = next((r for r in ranked[1:] if r.cue), None)
    if cued is None:
        return ranked
    return [cued, *[r for r in ranked if r is not cued]]


def _task(score: IntentScore) -> dict[str, Any]:
    return {
        "intent": score.intent,
        "score": round(score.score, 3),
        "cue": score.cue,
        "probability": round(score.probability, 3),
    }


def _weak_write(task: dict[str, Any], th: Thresholds) -> bool:
    """A write guessed by the model alone, below the write threshold."""
    return (
        task["intent"] in WRITE_INTENTS
        and not task.get("cue")
        and task.get("probability", 1.0) < th.write
    )


_FAMILIES = [
    {"balance", "past_due", "next_payment", "payoff", "loan_list"},
    {"payment_link", "how_to_pay"},
]


def _same_family(a: str, b: str) -> bool:
    return any(a in fam and b in fam for fam in _FAMILIES)


def _intents(tasks: list[dict[str, Any]]) -> set[str]:
    return {t["intent"] for t in tasks}


def _without(tasks: list[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    return [t for t in tasks if t["intent"] not in names]


def _structural(
    tasks: list[dict[str, Any]], text: str, today: date, th: Thresholds
) -> list[dict[str, Any]]:
    """Paying on a future date is a promise; paying now is a link; a payment already made
    or scheduled elsewhere is neither."""
    if _PAST_PAYMENT.search(text):
        kept = [
            t
            for t in tasks
            if t["intent"] not in {"promise_to_pay", "payment_link", "due_date_change"}
            or t.get("cue")
        ]
        return kept if kept != [] else [{"intent": "payment_history", "score": 1.0, "cue": True}]
    tasks = _pay_now(tasks, text, today)
    intents = _intents(tasks)
    # A guess from the embeddings alone (no cue) does not stand against the structure.
    cued = {t["intent"] for t in tasks if t.get("cue") or t.get("probability", 0) >= th.confident}
    if cued & {
        "due_date_change",
        "deferral",
        "fee_waiver",
        "contact_preferences",
        "out_of_scope",
    } or _DUE_DATE_WORDS.search(text):
        return tasks
    if not _PAY_VERB.search(text) or re.search(r"\blink\b", text, re.IGNORECASE):
        return tasks
    if _HYPOTHETICAL.search(text) and _CONSEQUENCE.search(text):
        return tasks
    when = extract_date(text, today)
    if when is None:
        return tasks
    promise = when.value > today or re.search(
        r"\b(promise|later|tonight|after work)\b", text, re.IGNORECASE
    )
    if not promise:
        return tasks  # paying today: the cues decide between a link and a question
    wanted = "promise_to_pay"
    if wanted in intents:
        # Paying on a later date is evidence enough: the guess becomes a cue.
        return [{**t, "cue": True} if t["intent"] == wanted else t for t in tasks]
    reads = [
        t
        for t in tasks
        if t["intent"] in READ_INTENTS and t.get("cue") and not _only_amount_cue(t["intent"], text)
    ]
    return [{"intent": wanted, "score": 1.0, "cue": True}, *reads]


def _pay_now(tasks: list[dict[str, Any]], text: str, today: date) -> list[dict[str, Any]]:
    """ "I want to pay the overdue amount now", "can I pay $200 online today": a link."""
    intents = _intents(tasks)
    if "payment_link" in intents or intents & {
        "promise_to_pay",
        "due_date_change",
        "deferral",
        "fee_waiver",
        "contact_preferences",
    }:
        return tasks
    if _HYPOTHETICAL.search(text) or re.search(r"\bhow (do|can|should) i\b", text, re.I):
        return tasks
    wants_to_pay = re.search(
        r"\b(want|like|need|ready|going|trying|can i|could i|let me)\b.{0,30}"
        r"\bpay\b(?! ?off)",
        text,
        re.IGNORECASE,
    )
    named = extract_amounts(text) or extract_amount_keyword(text) in {
        "past_due",
        "next_due",
    }
    wants_now = wants_to_pay and (_NOW_WORDS.search(text) or named)
    explicit = "how_to_pay" in intents and extract_amounts(text)
    when = extract_date(text, today)
    if not (wants_now or explicit) or (when is not None and when.value > today):
        return tasks
    reads = [
        t
        for t in tasks
        if t["intent"] in READ_INTENTS and t.get("cue") and not _only_amount_cue(t["intent"], text)
    ]
    return [*reads, {"intent": "payment_link", "score": 1.0, "cue": True}]


def _only_amount_cue(intent: str, text: str) -> bool:
    """True when a read intent was suggested only by an amount named in a payment
    ("pay the past due on Friday" asks nothing about the past-due amount)."""
    asks = re.search(
        r"\b(how much|(?<!pay )(?<!cover )(?<!send )what('?s| is| are)|when|"
        r"tell me|show me)\b",
        text,
        re.IGNORECASE,
    )
    return intent in {"past_due", "payoff", "next_payment", "balance"} and not asks


def _resolve_conflicts(tasks: list[dict[str, Any]], text: str, today: date) -> list[dict[str, Any]]:
    intents = _intents(tasks)
    # "pay with my credit card" is about paying, not a credit-card product.
    if (
        "out_of_scope" in intents
        and re.search(r"\b(pay|payment)\b", text, re.IGNORECASE)
        and re.search(
            r"\b(my|the) (loan|payment|balance|past due|bill)\b|\bpay (with|by)\b",
            text,
            re.IGNORECASE,
        )
    ):
        tasks = _without(tasks, "out_of_scope") or [
            {"intent": "how_to_pay", "score": 1.0, "cue": True}
        ]
    intents = _intents(tasks)
    # A promise or a link that names what is past due is one task, not two.
    for action in ("promise_to_pay", "payment_link"):
        if action in intents:
            tasks = [
                t for t in tasks if t["intent"] == action or not _only_amount_cue(t["intent"], text)
            ]
    intents = _intents(tasks)
    if {"payment_link", "promise_to_pay"} <= intents:
        when = extract_date(text, today)
        drop = "payment_link" if when and when.value > today else "promise_to_pay"
        tasks = _without(tasks, drop)
    # "how does a deferral work?" asks about the rule, it does not ask for one.
    asks_rule = any(t["intent"] == "policy_question" and t.get("cue") for t in tasks) or (
        tasks and tasks[0]["intent"] == "policy_question"
    )
    if asks_rule and not _REQUEST.search(text):
        tasks = [t for t in tasks if t["intent"] not in WRITE_INTENTS]
    intents = _intents(tasks)
    # "my payday moved to the 15th, can you move my due date": a due-date change.
    if (
        "due_date_change" in intents
        and "promise_to_pay" in intents
        and _DUE_DATE_WORDS.search(text)
    ):
        tasks = _without(tasks, "promise_to_pay")
    # A promise with nothing to promise (no date, no amount) next to another request
    # ("I can pay a bit more now, what's my payoff?") is not a promise.
    if (
        "promise_to_pay" in _intents(tasks)
        and len(tasks) > 1
        and not extract_date(text, today)
        and not extract_amounts(text)
    ):
        tasks = _without(tasks, "promise_to_pay")
    # "Waive the late fee and then send me a link for the rest": the link waits for the
    # waiver (its amount depends on it) and is offered once the waiver is done.
    intents = _intents(tasks)
    if {"fee_waiver", "payment_link"} <= intents and re.search(
        r"\b(then|after( that)?|afterwards|the rest|what'?s left|remaining)\b", text, re.I
    ):
        link = next(t for t in tasks if t["intent"] == "payment_link")
        tasks = [
            {**t, "then": {"intent": "payment_link", "slots": {"amount_keyword": "past_due"}}}
            if t["intent"] == "fee_waiver"
            else t
            for t in tasks
            if t is not link
        ]
    # "pay $165 with my card" has no promise in it: paying now is a link.
    if (
        [t["intent"] for t in tasks] == ["promise_to_pay"]
        and not extract_date(text, today)
        and not _PROMISE_WORDS.search(text)
        and _PAY_VERB.search(text)
        and extract_amounts(text)
    ):
        tasks = [{"intent": "payment_link", "score": tasks[0]["score"], "cue": True}]
    return tasks


# --- Chinese and Spanish ---------------------------------------------------------------

_LOCAL_IDENTITY_WORDS = {
    "zh": re.compile(
        r"我的|我|生日|出生日期|出生|日期|是|邮编|邮政编码|邮区|贷款号码?|贷款编号|编号|号码|"
        r"电话|手机|和|还有|在|年|月|日|号|您好|你好|好的|的"
    ),
    "es": re.compile(
        r"\b(mi|mis|es|son|fecha|de|del|nacimiento|naci|nací|el|la|codigo|código|postal|"
        r"zip|cp|and|y|numero|número|prestamo|préstamo|telefono|teléfono|soy|hola|aqui|"
        r"aquí|esta|está|con|yes|ok)\b",
        re.IGNORECASE,
    ),
}


_LOCAL_GREETING = {
    "zh": re.compile(
        r"^\s*(你好|您好|嗨|哈喽|早上好|下午好|晚上好|在吗|hi|hello)[\s,，!！。~]*", re.I
    ),
    "es": re.compile(
        r"^\s*(hola|buen(os|as)\s+(d[ií]as|tardes|noches)|buenas|saludos|hi|hello)[\s,!¡.]*",
        re.IGNORECASE,
    ),
}


def _without_greeting(text: str, language: str) -> str:
    """ "你好，我欠多少钱": the request, not the greeting, is what the model classifies
    (a greeting alone stays a greeting)."""
    rest = _LOCAL_GREETING[language].sub("", text, count=1)
    return rest if len(rest.strip(" ?？!！.。")) >= 2 else text


def _local_identity_only(canonical_text: str, language: str) -> bool:
    """Only identity details and filler words (the language's own and the rewritten)."""
    rest = re.sub(r"\d[\d\s().+/-]*|\b[a-z]{1,3}-?\d{3,10}\b", " ", canonical_text, flags=re.I)
    rest = re.sub(r"\b(" + "|".join(MONTHS) + r")\b", " ", rest, flags=re.IGNORECASE)
    rest = _LOCAL_IDENTITY_WORDS[language].sub(" ", rest)
    rest = _IDENTITY_WORDS.sub(" ", rest)
    return not re.search(r"[a-z]{3,}|[\u3400-\u9fff]", rest, re.IGNORECASE)


def understand_localized(
    model: LanguageIntentModel,
    text: str,
    language: str,
    today: date,
    own_loans: Sequence[str] = (),
) -> dict[str, Any]:
    """The plan for a Chinese or Spanish message, in the same shape as :func:`understand`:
    the intent from the language's own model (below its validation-chosen threshold the
    plan asks a clarifying question), the values read from the message rewritten by
    :func:`agent.language.localized.canonical`. Escalation was decided before (the input
    classifier has a model per language)."""
    canon = canonical(text, language)
    identity = identity_slots(canon, today, own_loans)
    has_identity = any(identity[k] for k in ("dob", "zip", "phone", "loan_number"))
    tasks: list[dict[str, Any]] = []
    clarify: list[str] = []
    if not (has_identity and _local_identity_only(canon, language)):
        ranked = sorted(
            model.probabilities(_without_greeting(text, language)).items(), key=lambda kv: -kv[1]
        )
        intent, probability = ranked[0]
        if probability >= model.act_threshold and not (
            has_identity and intent in {"out_of_scope", *SOCIAL_INTENTS}
        ):
            tasks = [
                {
                    "intent": intent,
                    "score": round(probability, 3),
                    "cue": False,
                    "probability": round(probability, 3),
                    "slots": task_slots(intent, canon, today, own_loans),
                }
            ]
        elif not has_identity and intent not in CLARIFY_EXCLUDED:
            clarify = [i for i, _ in ranked[:3] if i not in CLARIFY_EXCLUDED][:2]
    plan: dict[str, Any] = {"tasks": tasks, "identity": identity, "text": canon}
    if clarify:
        plan["clarify"] = clarify
    return plan
