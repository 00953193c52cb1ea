"""Dialogue state between turns: is the new message an answer to what we asked?

The offline engine asks for missing details (an amount, a date, a day of the month, the
loan), proposes writes and waits for a yes, and offers a person. The next message may
answer that question ("the 20th", "$75", "L301", "my next installment", "make it
Friday") or start something new. These pure functions decide which, so that the brain
can merge an answer into the task that was waiting for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from agent.engine.offline.state import Task, tasks_from_plan
from agent.engine.offline.understanding import (
    READ_INTENTS,
    SOCIAL_INTENTS,
    WRITE_INTENTS,
    task_slots,
)
from agent.language.amounts import parse_amount
from agent.language.number_words import ORDINAL_WORDS

# Which slots each task can take from a follow-up message.
TASK_SLOTS: dict[str, tuple[str, ...]] = {
    "promise_to_pay": ("amount", "amount_keyword", "date", "loan_id"),
    "payment_link": ("amount", "amount_keyword", "loan_id"),
    "due_date_change": ("day", "loan_id"),
    "contact_preferences": ("changes", "loan_id"),
    "deferral": ("loan_id",),
    "fee_waiver": ("loan_id",),
}
_FILLER = re.compile(
    r"\b(the|a|an|on|of|for|it|its|it's|that|this|one|loan|number|no|#|please|pls|ok|okay|"
    r"then|just|make|let's|lets|say|do|can|i|i'll|we|use|is|my|account|instead|actually|"
    r"wait|sorry|oh|oops|hmm|um|uh|yes|yeah|sure|fine|how|about|and|to|be|what|with|"
    r"dollars?|bucks)\b",
    re.IGNORECASE,
)


def substantive(tasks: Sequence[Task | dict[str, Any]]) -> list[Task]:
    return [t for t in tasks_from_plan(list(tasks)) if t.kind not in SOCIAL_INTENTS]


# Questions that can come in between without dropping a task that waits for an answer.
DIGRESSIONS = READ_INTENTS | {"policy_question", "how_to_pay", "contact_info", "account_admin"}


def digression(tasks: Sequence[Task], intents: Sequence[str]) -> bool:
    """True when the message only asks a question ("what's my balance again?", "how do
    deferrals work?"): the task waiting for a yes or a slot stays. A "no", a new request
    or small talk ("thanks, bye") is not a digression."""
    asked = substantive(tasks)
    return bool(asked) and "deny" not in intents and all(t.kind in DIGRESSIONS for t in asked)


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
    pending_intent: str,
    asked: str,
    tasks: Sequence[Task | dict[str, Any]],
    values: dict[str, Any],
    text: str,
) -> bool:
    """True when a message with ``values`` for the pending task is an answer to it rather
    than a new request. ``asked`` is the slot we asked for ("amount", "date"...) or
    "confirmation" when we proposed the task and asked for a yes."""
    if not values:
        return False
    others = [t for t in substantive(tasks) if t.kind != pending_intent]
    if not others:
        return True
    if _QUESTION.search(text) and asked == "confirmation":
        return False  # a question while a proposal waits is a new request
    if _QUESTION.search(text) and asked == "amount" and not values.get("amount"):
        return False  # "what's the payoff?" asks it; "the payoff amount" names it
    if (
        asked == "amount"
        and set(values) & {"amount", "amount_keyword"}
        and all(t.kind in READ_INTENTS for t in others)
    ):
        # "my next installment" / "the payoff amount" names the amount we asked for.
        return True
    # A guess from the embeddings alone (no cue) does not outweigh a filled slot.
    return all(not t.cue for t in others)


def merge(task: Task, values: dict[str, Any]) -> Task:
    """The task with the values of an answer or a correction: each replaces its slot
    (a new amount replaces a named one and back)."""
    return task.with_slots(**values)


# Tasks about one loan, for which a customer with several loans must say (or we infer)
# which one.
ONE_LOAN_TASKS = WRITE_INTENTS | {"payment_link"}
# "the late one", "the loan that's behind": names a loan among several.
_THE_LATE_ONE = re.compile(
    r"\b(late|overdue|past[- ]due|behind)( one| loan| account)\b|"
    r"\bthe (one|loan|account) (that'?s|that is|i'?m|i am|which is) (late|overdue|past[- ]due|"
    r"behind)\b|\bthe (one|loan) (i'?m|i am) behind on\b",
    re.IGNORECASE,
)


def loan_hint(task: Task, text: str) -> bool:
    """Whether what the customer said may single out one of their loans."""
    if task.kind in ONE_LOAN_TASKS:
        return bool(
            task.slots.amount
            or task.slots.amount_keyword == "past_due"
            or task.kind == "fee_waiver"
            or _BEHIND.search(text.lower())
        )
    return task.kind in READ_INTENTS and bool(_THE_LATE_ONE.search(text))


def fitting_loan(task: Task, text: str, summaries: Sequence[dict[str, Any]]) -> str | None:
    """The one loan (of the account summaries) that fits what the customer said, or None
    when none or several do: an amount one loan has past due (or as its payoff today);
    what is past due, "the late one", when one loan is behind; a late fee to waive when
    one loan has one. An amount that only equals an installment does not single a loan
    out (customers pay "$90" toward either)."""
    past_due = {s["loan_id"]: parse_amount(s.get("past_due_amount")) or 0 for s in summaries}
    late = [loan for loan, owed in past_due.items() if owed > 0]
    amount = task.slots.amount
    if amount is not None and task.kind in ONE_LOAN_TASKS:
        owed = [loan for loan in late if past_due[loan] == amount]
        if len(owed) == 1:
            return owed[0]
        payoff = [
            s["loan_id"] for s in summaries if parse_amount(s.get("payoff_amount_today")) == amount
        ]
        if len(payoff) == 1:
            return payoff[0]
    if task.kind == "fee_waiver":
        with_fee = [
            s["loan_id"] for s in summaries if (parse_amount(s.get("unpaid_fees")) or 0) > 0
        ]
        return with_fee[0] if len(with_fee) == 1 else None
    named_late = task.slots.amount_keyword == "past_due" or (
        _BEHIND.search(text.lower()) if task.kind in ONE_LOAN_TASKS else _THE_LATE_ONE.search(text)
    )
    if named_late and len(late) == 1:
        return late[0]
    return None


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
    by_amount = _by_amount(lowered, loans, past_due or {}, balances or {})
    if by_amount is not None:
        return by_amount  # "the $110 one", "the one with 110 past due"
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


def mentions_amount(text: str, amount: Decimal) -> bool:
    """Whether ``text`` names this amount ("110", "$110.00", "1,922.96")."""
    forms = {f"{amount:.2f}", f"{amount:,.2f}"}
    if amount == amount.to_integral_value():
        forms |= {str(int(amount)), f"{int(amount):,}"}
    return any(re.search(rf"(?<![\d.,]){re.escape(form)}(?![\d]|[.,]\d)", text) for form in forms)


def _by_amount(
    text: str, loans: list[str], past_due: dict[str, str], balances: dict[str, str]
) -> str | None:
    """The one loan whose past-due amount (or else payoff) the text names."""
    for figures in (past_due, balances):
        named = [
            loan
            for loan in loans
            if (amount := parse_amount(figures.get(loan))) and mentions_amount(text, amount)
        ]
        if len(named) == 1:
            return named[0]
    return None


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


def asks(text: str) -> bool:
    """Whether the message asks a question."""
    return bool(_QUESTION.search(text))


def cannot(text: str) -> bool:
    return bool(_CANNOT.search(text))
