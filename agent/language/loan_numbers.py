"""What a loan number looks like, in a customer's words and in a reply: one rule for the
offline engine, the injection detector and the output checks.

Loan numbers are 1–3 letters and digits, with an optional dash: "L100", "LN-4471",
"LB1". With three or more digits they are recognised in any case ("l100"); shorter ones
("LB1", "LZ9") when typed in capitals or right after the word "loan" ("loan lz9"), so
that "w2", "a1" or "q3" in ordinary sentences are not loan numbers. The verified
customer's own loan numbers are recognised in any case and shape.

Customers also type a space between the letters and the digits ("HB 3307" for
"HB-3307"). That is read as a loan number only right after "loan", "loan #", "loan
number" or "account number" ("loan # hb 3307"), or when the letters are capitals in a
message that is not all capitals ("my loan is HB 3307"), and never when the letters
are a short word, a state or a unit ("at 3307", "MI 48104", "ZIP 48104", "PAY 200").
A loan number typed with a space is given with a dash ("HB-3307"); loan numbers are
compared in their ``canonical`` form, which ignores case, dashes and spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from agent.language.dates import MONTH_ABBREVIATIONS

# Capitals-and-digits words that are not loan numbers (tax forms, quarters...).
_NOT_LOANS = {"W2", "W4", "W9", "I9", "Q1", "Q2", "Q3", "Q4", "H1", "H2", "MP3", "MP4"}
_LONG = re.compile(r"\b([A-Za-z]{1,3}-?\d{3,10})\b")
_SHORT_CAPS = re.compile(r"\b([A-Z]{1,3}-?\d{1,2})\b")
# Short words, states, units and labels that may stand before a number with a space:
# "at 3307", "MI 48104", "ZIP 48104", "PAY 200" are not loan numbers.
_NOT_LETTERS_TEXT = """
    A I AN AM AS AT BE BY DO GO HE IF IN IS IT ME MY NO OF OK ON OR SO TO UP US WE
    ALL AND ANY APR APT ARE BOX CAN DOB DUE EST EXT FAX FOR GET GOT HAD HAS HI ITS NEW
    NOT NOW NUM OFF OLD OUT OWE PAY PER PIN PM PO RE RM SSN STE TEL THE USD UTC VIA WAS
    YES YOU ZIP CST CDT EDT MST MDT PST PDT GMT NR ID ABT MAX MIN
    AL AK AZ AR CA CO CT DE DC FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND
    NE NH NJ NM NV NY OH OK OR PA PR RI SC SD TN TX UT VA VT WA WI WV WY
"""
_NOT_LETTERS = frozenset(_NOT_LETTERS_TEXT.split()) | {
    m.upper() for m in MONTH_ABBREVIATIONS if len(m) == 3
}
_NOT_LETTERS_RE = "|".join(sorted(_NOT_LETTERS, key=len, reverse=True))
_AFTER_LOAN = re.compile(
    r"\b(?:loans?\s*(?:number|num|no\.?|#|id)?|(?:account|acct)\s*(?:number|num|no\.?|#))"
    r"\s*(?:#\s*)?:?\s*(?:(?:is|was|=)\s+)?"
    rf"(?!(?:{_NOT_LETTERS_RE})\s\d)([A-Za-z]{{1,3}}(?:-|\s)?\d{{1,10}})\b",
    re.IGNORECASE,
)
_MONTHS = "|".join(MONTH_ABBREVIATIONS)
# A month's abbreviation in a date: "27-Aug-1979", "Aug-27-1979", "1979-Aug-27", "aug-1979".
_MONTH_IN_DATE = re.compile(
    rf"(?:\d{{1,4}}[-/. ])?(?<![A-Za-z])(?:{_MONTHS})\.?[-/. ]?"
    rf"(?:\d{{1,2}}[-/. ,]+\d{{2,4}}|\d{{1,4}})",
    re.IGNORECASE,
)
# Capitals, one space, three or more digits: "HB 3307".
_CAPS_SPACED = re.compile(r"(?<![\w-])([A-Z]{1,3}) (\d{3,10})\b")


def canonical(loan_id: str) -> str:
    """The form loan numbers are compared in: upper case, no dashes or spaces."""
    return re.sub(r"[\s-]", "", loan_id).upper()


@lru_cache(maxsize=4096)
def _own_pattern(loan_id: str) -> re.Pattern[str]:
    """The customer's own loan as typed in any case, with or without a dash or space
    between its letters and digits."""
    shape = re.fullmatch(r"([A-Za-z]{1,3})[\s-]?(\d+)", loan_id.strip())
    body = rf"{re.escape(shape[1])}[\s-]?{re.escape(shape[2])}" if shape else re.escape(loan_id)
    return re.compile(rf"(?<![\w-]){body}(?![\w-])", re.IGNORECASE)


def _is_date(text: str) -> bool:
    """A month's abbreviation with a day and a year, or with a year ("Aug-1979")."""
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if len(numbers) == 1:
        return 1900 <= numbers[0] <= 2099
    return len(numbers) >= 2 and any(1 <= n <= 31 for n in numbers)


def _spaced_caps_allowed(text: str, match: re.Match[str]) -> bool:
    """ "HB 3307" in capitals counts unless the letters are a short word or a state, or
    the whole message is shouted in capitals ("I CAN PAY 200 ON FRIDAY")."""
    if match[1] in _NOT_LETTERS:
        return False
    rest = text[: match.start()] + text[match.end() :]
    return not re.search(r"[A-Za-z]", rest) or bool(re.search(r"[a-z]", rest))


def loan_numbers_in(text: str, own: Iterable[str] = ()) -> list[str]:
    """Loan numbers in a customer's message, in order of appearance, each once, in upper
    case (a space typed between letters and digits given as a dash); one of the
    customer's ``own`` loans is given as the ledger writes it."""
    own_ids = {canonical(loan_id): loan_id for loan_id in own}
    found: list[tuple[int, str]] = []
    for loan_id in own_ids.values():
        for match in _own_pattern(loan_id).finditer(text):
            found.append((match.start(), loan_id))
    dates = [m.span() for m in _MONTH_IN_DATE.finditer(text) if _is_date(m[0])]
    for pattern in (_AFTER_LOAN, _LONG, _SHORT_CAPS, _CAPS_SPACED):
        for match in pattern.finditer(text):
            if pattern is _CAPS_SPACED and not _spaced_caps_allowed(text, match):
                continue
            typed = re.sub(r"\s+", "-", match[0] if pattern is _CAPS_SPACED else match[1])
            key = canonical(typed)
            in_date = pattern is not _AFTER_LOAN and any(
                a <= match.start(1) and match.end() <= b for a, b in dates
            )
            if key in own_ids or (key not in _NOT_LOANS and not in_date):
                found.append((match.start(1), own_ids.get(key, typed.upper())))
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
