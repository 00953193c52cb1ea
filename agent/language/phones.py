"""Phone numbers: finding one in a customer's words, telling whether a run of digits is
shaped like one, comparing two, and writing one in E.164 (``+17345550191``).

North American numbers are the default (region ``US``); parsing and E.164 formatting
use Google's libphonenumber (the ``phonenumbers`` package). Finding a number in free
text stays with the patterns below: they read the shapes customers type ("(734)
555-0191", "734.555.0191", "555-0191") without judging whether the exchange is in
service, so the fictional 555 numbers of a demo book are read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "US"

# A North American number as typed, with an optional country code: "+1 (734) 555-0191".
PHONE_RE = re.compile(r"(?:\+?1[\s.-]?)?\(?\b\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b")
_PHONE_GROUPS = re.compile(r"(\+?1[\s.-]?)?\(?\b(\d{3})\)?[\s.-]?(\d{3})[\s.-]?(\d{4})\b")
_LOCAL_GROUPS = re.compile(r"\+?1?[\s.-]?\b(\d{3})[\s.-](\d{4})\b")
# Something in the text may be a phone number: ten digits in three groups, or "555-0191".
_MAYBE_PHONE = re.compile(r"\d{3}\D{0,2}\d{3}\D?\d{4}|\b\d{3}-\d{4}\b")


def might_hold_phone(text: str) -> bool:
    """A cheap first look: digits grouped the way a phone number's are."""
    return bool(_MAYBE_PHONE.search(text))


def extract_phone(text: str) -> str | None:
    """The first phone number in ``text`` as its national digits ("7345550191"), or a
    local seven-digit one ("5550191")."""
    if m := _PHONE_GROUPS.search(text):
        return "".join(g for g in m.groups()[1:])
    if m := _LOCAL_GROUPS.search(text):
        return m[1] + m[2]
    return None


def _parse(text: str, region: str = DEFAULT_REGION) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def to_e164(text: str, region: str = DEFAULT_REGION) -> str | None:
    """``text`` as an E.164 number ("(734) 555-0191" → "+17345550191"), or None when it
    cannot be a complete phone number (a local seven-digit number, too long, not a
    number). The exchange is not checked against the numbering plan (555 is accepted)."""
    number = _parse(text, region)
    if number is None or (
        phonenumbers.is_possible_number_with_reason(number)
        != phonenumbers.ValidationResult.IS_POSSIBLE
    ):
        return None  # too short (a local number without its area code), too long
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_digits(text: str) -> str:
    """The digits that identify a number within North America: without the country code
    ("+1-734-555-0191" → "7345550191"); a local seven-digit number stays as it is
    ("+1-555-0100" → "5550100"); a number of another country keeps its country code."""
    number = _parse(text)
    if number is not None and number.country_code == 1:
        return f"{'0' * (number.number_of_leading_zeros or 0)}{number.national_number}"
    digits = re.sub(r"\D", "", text)
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def same_phone(a: str, b: str) -> bool:
    """The same number: equal digits, or one ends with the other (a local number against
    one with its area code), once the country code is set aside."""
    a, b = phone_digits(a), phone_digits(b)
    if not a or not b:
        return False
    short, long_ = sorted((a, b), key=len)
    return a == b or (len(short) >= 7 and long_.endswith(short))


def phone_shaped(groups: list[str]) -> bool:
    """A North American number (or a 7-digit local one) however its digit groups are
    split: 10 digits (area code and exchange not starting with 0 or 1), optionally after
    a 1, split only where a phone number splits."""
    digits = "".join(groups)
    if len(digits) == 11 and digits.startswith("1"):
        national, breaks = digits[1:], {1, 4, 7}
    elif len(digits) == 10:
        national, breaks = digits, {3, 6}
    elif len(digits) == 7:
        national, breaks = "000" + digits, {3}
    else:
        return False
    cuts, position = set(), 0
    for group in groups[:-1]:
        position += len(group)
        cuts.add(position)
    if not cuts <= breaks:
        return False
    return (len(digits) == 7 or national[0] not in "01") and national[3] not in "01"


def grouped_like_phone(groups: list[str]) -> bool:
    """Digit groups of a phone number's lengths: 3-3-4, 1-3-3-4, 3-4 or 1-3-4."""
    lengths = [len(g) for g in groups]
    return lengths in ([3, 3, 4], [1, 3, 3, 4], [3, 4], [1, 3, 4])


@dataclass(frozen=True)
class PhoneMention:
    start: int
    end: int
    text: str  # as written: "1-900-555-0142", "(900) 555-0142"


# An extension after the number: "x12", "ext. 12".
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|extension)\s*\d+$", re.IGNORECASE)


@lru_cache(maxsize=4096)  # replies and tool results repeat; a pure function of the text
def phone_mentions(text: str) -> tuple[PhoneMention, ...]:
    """Every phone number written in ``text`` (a reply, a template), in order, however it
    is punctuated: "1-900-555-0142", "(900) 555-0142", "+1 900 555 0142", "900.555.0142",
    "555-0142", "+44 20 7946 0958". A run of digits that is part of a word, an amount or a
    loan number ("L1234567", "$1234567", "12345.67"), a bare seven-digit number, and dates,
    times and ZIP codes are not phone numbers."""
    found = []
    for match in phonenumbers.PhoneNumberMatcher(
        text, DEFAULT_REGION, leniency=phonenumbers.Leniency.POSSIBLE
    ):
        before, after = text[: match.start], text[match.end :]
        if re.search(r"[\w$€£.,]$", before) or re.match(r"[.,]?\d|\w", after):
            continue  # digits inside a word, a loan number or an amount
        number = _EXTENSION.sub("", match.raw_string)
        groups = re.findall(r"\d+", number)
        bare_local = len(groups) == 1 and len(groups[0]) == 7  # "5550142": a reference?
        if number.lstrip("(").startswith("+") or (phone_shaped(groups) and not bare_local):
            found.append(PhoneMention(match.start, match.end, match.raw_string))
    return tuple(found)
