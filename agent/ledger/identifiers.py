"""What a loan number looks like, in a customer's words and in a reply: one rule for the
offline engine, the injection detector and the output checks.

Loan numbers are 1–3 letters and digits, with an optional dash: "L100", "LN-4471",
"LB1". With three or more digits they are recognised in any case ("l100"); shorter ones
("LB1", "LZ9") when typed in capitals or right after the word "loan" ("loan lz9"), so
that "w2", "a1" or "q3" in ordinary sentences are not loan numbers. The verified
customer's own loan numbers are recognised in any case and shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Capitals-and-digits words that are not loan numbers (tax forms, quarters...).
_NOT_LOANS = {"W2", "W4", "W9", "I9", "Q1", "Q2", "Q3", "Q4", "H1", "H2", "MP3", "MP4"}
_LONG = re.compile(r"\b([A-Za-z]{1,3}-?\d{3,10})\b")
_SHORT_CAPS = re.compile(r"\b([A-Z]{1,3}-?\d{1,2})\b")
_AFTER_LOAN = re.compile(
    r"\bloans?\s*(?:number|no\.?|#|id)?\s*:?\s*([A-Za-z]{1,3}-?\d{1,10})\b", re.IGNORECASE
)


def canonical(loan_id: str) -> str:
    """The form loan numbers are compared in: upper case, no dashes or spaces."""
    return re.sub(r"[\s-]", "", loan_id).upper()


def loan_numbers_in(text: str, own: Iterable[str] = ()) -> list[str]:
    """Loan numbers in a customer's message, in order of appearance, each once, in upper
    case; one of the customer's ``own`` loans is given as the ledger writes it."""
    own_ids = {canonical(loan_id): loan_id for loan_id in own}
    found: list[tuple[int, str]] = []
    for loan_id in own_ids.values():
        for match in re.finditer(rf"(?<![\w-]){re.escape(loan_id)}(?![\w-])", text, re.I):
            found.append((match.start(), loan_id))
    for pattern in (_AFTER_LOAN, _LONG, _SHORT_CAPS):
        for match in pattern.finditer(text):
            key = canonical(match[1])
            if key in own_ids or key not in _NOT_LOANS:
                found.append((match.start(1), own_ids.get(key, match[1].upper())))
    ordered: list[str] = []
    for _, loan_id in sorted(found):
        if canonical(loan_id) not in {canonical(x) for x in ordered}:
            ordered.append(loan_id)
    return ordered


def first_loan_number(text: str, own: Iterable[str] = ()) -> str | None:
    found = loan_numbers_in(text, own)
    return found[0] if found else None


def loan_numbers_shown(reply: str) -> list[str]:
    """Loan numbers in a reply (written in capitals, as the assistant writes them)."""
    ids = [m[1] for m in _LONG.finditer(reply) if m[1][0].isupper()]
    ids += [m[1] for m in _SHORT_CAPS.finditer(reply)]
    return [x for x in dict.fromkeys(ids) if canonical(x) not in _NOT_LOANS]
