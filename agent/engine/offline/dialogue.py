"""Dialogue state between turns: is the new message an answer to what we asked?

The offline engine asks for missing details (an amount, a date, a day of the month, the
loan), proposes writes and waits for a yes, and offers a person. The next message may
answer that question ("the 20th", "$75", "L301", "my next installment", "make it
Friday") or start something new. These pure functions decide which, so that the brain
can merge an answer into the task that was waiting for it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from agent.engine.offline.slots import ORDINAL_WORDS
from agent.engine.offline.understanding import READ_INTENTS, SOCIAL_INTENTS, task_slots
from agent.tools.parsing import parse_amount

# Which slots each task can take from a follow-up message.
TASK_SLOTS: dict[str, tuple[str, ...]] = {
    "promise_to_pay": ("amount", "amount_keyword", "date", "loan_id"),
    "payment_link": ("amount", "amount_keyword", "loan_id"),
    "due_date_change": ("day", "loan_id"),
    "contact_preferences": ("changes", "loan_id"),
    "deferral": ("loan_id",),
    "fee_waiver": ("loan_id",),
}
# Slots that replace each other: a new amount replaces a named one and back.
EXCLUSIVE = {"amount": "amount_keyword", "amount_keyword": "amount"}
_FILLER = re.compile(
    r"\b(the|a|an|on|of|for|it|its|it's|that|this|one|loan|number|no|#|please|pls|ok|okay|"
    r"then|just|make|let's|lets|say|do|can|i|i'll|we|use|is|my|account|instead|actually|"
    r"wait|sorry|oh|oops|hmm|um|uh|yes|yeah|sure|fine|how|about|and|to|be|what|with|"
    r"dollars?|bucks)\b",
    re.IGNORECASE,
)


def substantive(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in tasks if t["intent"] not in SOCIAL_INTENTS]


def fresh_values(intent: str, text: str, today: date, loan_number: str | None) -> dict[str, Any]:
    """The slot values for ``intent`` that this message carries."""
    found = task_slots(intent, text, today)
    if intent == "due_date_change" and "day" not in found:
        bare = re.fullmatch(r"\s*(?:the\s+)?(\d{1,2})\s*\.?\s*", text)
        if bare:
            found["day"] = int(bare[1])
    if "amount" in TASK_SLOTS.get(intent, ()) and "amount" not in found:
        corrected = _CORRECTED_AMOUNT.search(text)
        if corrected and (corrected[2] or int(corrected[1]) > 31):  # not a day of the month
            found["amount"] = f"{corrected[1]}{corrected[2] or ''}"
            found.pop("amount_keyword", None)
    if loan_number:
        found["loan_id"] = loan_number
    wanted = TASK_SLOTS.get(intent, ())
    return {k: v for k, v in found.items() if k in wanted and v not in (None, {}, "", [])}


# "make it 120 instead": a bare number correcting the amount we proposed or asked for.
_CORRECTED_AMOUNT = re.compile(
    r"\b(?:make it|change it to|change (?:the amount|it) to|how about|rather|just)\s+\$?"
    r"(\d{2,6})(\.\d{2})?\b(?!\s*(?:st|nd|rd|th|/|am|pm|days?|weeks?|months?)\b)",
    re.IGNORECASE,
)


def answers_pending(
    pending_intent: str, asked: str, tasks: list[dict[str, Any]], values: dict[str, Any], text: str
) -> bool:
    """True when a message with ``values`` for the pending task is an answer to it rather
    than a new request. ``asked`` is the slot we asked for ("amount", "date"...) or
    "confirmation" when we proposed the task and asked for a yes."""
    if not values:
        return False
    others = [t for t in substantive(tasks) if t["intent"] != pending_intent]
    if not others:
        return True
    if _QUESTION.search(text) and asked == "confirmation":
        return False  # a question while a proposal waits is a new request
    if (
        asked == "amount"
        and set(values) & {"amount", "amount_keyword"}
        and all(t["intent"] in READ_INTENTS for t in others)
    ):
        # "my next installment" / "the payoff amount" names the amount we asked for.
        return True
    # A guess from the embeddings alone (no cue) does not outweigh a filled slot.
    return all(not t.get("cue") for t in others)


def merge(task: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    slots = dict(task.get("slots", {}))
    for key, value in values.items():
        if key in EXCLUSIVE:
            slots.pop(EXCLUSIVE[key], None)
        slots[key] = value
    return {**task, "slots": slots}


def chosen_loan(
    text: str,
    loan_number: str | None,
    loans: list[str],
    balances: dict[str, str] | None = None,
    past_due: dict[str, str] | None = None,
) -> str | None:
    """The loan a customer picks: by number, "the first/second one", "the last one", or
    (with ``balances``, the payoff of each) "the smaller/bigger one", or (with
    ``past_due``) "the one that's behind"."""
    if loan_number:
        return loan_number
    lowered = text.lower()
    if not loans:
        return None
    behind = _the_one_behind(lowered, loans, past_due or {})
    if behind is not None:
        return behind
    by_size = _by_balance(lowered, loans, balances or {})
    if by_size is not None:
        return by_size
    if re.search(r"\b(last|latter|newer|newest|most recent)\b", lowered):
        return loans[-1]
    for word, n in ORDINAL_WORDS.items():
        if n <= len(loans) and re.search(rf"\b{word}\b", lowered):
            return loans[n - 1]
    if m := re.search(r"\b(?:the\s+)?(\d)(?:st|nd|rd|th)?\s+(?:one|loan)\b", lowered):
        n = int(m[1])
        if 1 <= n <= len(loans):
            return loans[n - 1]
    for loan in loans:
        digits = re.sub(r"\D", "", loan)
        if digits and re.search(rf"(?<!\d){digits}(?!\d)", lowered):
            return loan
    return None


_SMALLER = re.compile(r"\b(small(er|est)?|less|lower|lowest|little|tiny|least)\b")
_LARGER = re.compile(r"\b(big(ger|gest)?|large(r|st)?|more|higher|highest|most)\b")


_BEHIND = re.compile(r"\b(behind|past due|overdue|late|missed|owe(s)? (money|something))\b")


def _the_one_behind(text: str, loans: list[str], past_due: dict[str, str]) -> str | None:
    if not _BEHIND.search(text):
        return None
    late = [loan for loan in loans if (parse_amount(past_due.get(loan)) or 0) > 0]
    return late[0] if len(late) == 1 else None


def _by_balance(text: str, loans: list[str], balances: dict[str, str]) -> str | None:
    amounts = {
        loan: amount for loan in loans if (amount := parse_amount(balances.get(loan))) is not None
    }
    if len(amounts) != len(loans) or len(set(amounts.values())) != len(loans):
        return None
    if _SMALLER.search(text):
        return min(amounts, key=lambda loan: amounts[loan])
    if _LARGER.search(text):
        return max(amounts, key=lambda loan: amounts[loan])
    return None


def is_bare(text: str) -> bool:
    """A message that is only slot values and filler words ("the L300 one please")."""
    rest = re.sub(
        r"[$]?\d[\d,./:-]*(st|nd|rd|th)?|\b[a-z]{1,3}-?\d{3,10}\b", " ", text, flags=re.IGNORECASE
    )
    rest = _FILLER.sub(" ", rest)
    return len(re.findall(r"[a-z]{3,}", rest, re.IGNORECASE)) <= 1


_QUESTION = re.compile(
    r"\?|^\s*(when|what|how|why|which|where|who|is|are|do|does|can you)\b", re.IGNORECASE
)
_CANNOT = re.compile(
    r"\b(can'?t|cannot|can not|won'?t be able|not able|unable|no way|"
    r"impossible|don'?t think so|not possible)\b",
    re.IGNORECASE,
)


def cannot(text: str) -> bool:
    return bool(_CANNOT.search(text))
