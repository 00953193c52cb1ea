"""Slot extraction: amounts, dates, birth dates, ZIP codes, days of month, loan numbers,
phones and contact channels from informal customer text. Pure and deterministic."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from agent.policy.calendar import add_months

MONTHS = {
    "jan": 1,
    "january": 1,
    "feb": 2,
    "february": 2,
    "febuary": 2,
    "mar": 3,
    "march": 3,
    "apr": 4,
    "april": 4,
    "may": 5,
    "jun": 6,
    "june": 6,
    "jul": 7,
    "july": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "oct": 10,
    "october": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "december": 12,
}
WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "a": 1,
    "an": 1,
    "a couple of": 2,
    "a couple": 2,
    "couple of": 2,
    "couple": 2,
    "few": 3,
    "a few": 3,
}
ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "twenty-first": 21,
    "twenty first": 21,
    "twenty-second": 22,
    "twenty second": 22,
    "twenty-third": 23,
    "twenty third": 23,
    "twenty-fourth": 24,
    "twenty fourth": 24,
    "twenty-fifth": 25,
    "twenty fifth": 25,
    "twenty-sixth": 26,
    "twenty sixth": 26,
    "twenty-seventh": 27,
    "twenty seventh": 27,
    "twenty-eighth": 28,
    "twenty eighth": 28,
    "twenty-ninth": 29,
    "twenty ninth": 29,
    "thirtieth": 30,
    "thirty-first": 31,
    "thirty first": 31,
}

_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY_RE = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_TOMORROW_RE = r"tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow|2morrow"
# "I can pay 20 may be more": the verb "may", not the month.
_NOT_MAY_VERB = r"(?!(?<=may)\s+(?:be|i|not|have|need|take|get|want|also|as|pay)\b)"
_MONTH_NOT_MAY_RE = "|".join(sorted((m for m in MONTHS if m != "may"), key=len, reverse=True))
_ORDINAL_RE = "|".join(sorted(ORDINAL_WORDS, key=len, reverse=True))
_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_UNIT_WORDS = {word: WORD_NUMBERS[word] for word in _UNITS}
_TEEN_WORDS = {
    "zero": 0,
    **_UNIT_WORDS,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS_WORDS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_DAY_NUMBER_RE = (
    r"(?:twenty|thirty)(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?|"
    + "|".join(sorted((w for w in _TEEN_WORDS if w != "zero"), key=len, reverse=True))
)


@dataclass(frozen=True)
class FoundDate:
    value: date
    text: str
    explicit_year: bool = False


def _suffix(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _day_words_value(words: str) -> int:
    parts = re.split(r"[\s-]+", words)
    return sum(_TENS_WORDS.get(p, 0) or _TEEN_WORDS.get(p, 0) for p in parts)


# "may" is the verb in "I may first pay 50": it is a month after on/by/until/before,
# or before an ordinal other than first/second/third ("may twenty-ninth").
_MAY_AFTER = r"(?:(?<=on )|(?<=by )|(?<=until )|(?<=before ))may"
_MONTH_THEN = rf"\b(?:{_MONTH_NOT_MAY_RE}|{_MAY_AFTER})\.?\s+(?:the\s+)?"
_MONTH_THEN_ORD = (
    rf"\b(?:{_MONTH_NOT_MAY_RE}|{_MAY_AFTER}|may(?!\s+(?:the\s+)?(?:first|second|third)\b))"
    r"\.?\s+(?:the\s+)?"
)
# Compiled once (built from month and number words, they are large).
_SPELLED_AFTER_MONTH = re.compile(rf"(?P<before>{_MONTH_THEN_ORD})(?P<ord>{_ORDINAL_RE})\b")
_SPELLED_BEFORE_OF = re.compile(
    rf"(?P<before>\b)(?P<ord>{_ORDINAL_RE})(?=\s+of\s+(?:(?:{_MONTH_RE})\b|"
    r"(?:the|this|next)\s+month\b))"
)
# "april twenty nine" (a cardinal after the month), not "april twenty five dollars".
_SPELLED_CARDINAL = re.compile(
    rf"(?P<before>{_MONTH_THEN})(?P<num>{_DAY_NUMBER_RE})\b"
    r"(?![\s-]*(?:and\s+)?(?:hundred|thousand|grand|dollars|bucks|days?|weeks?|months?|"
    r"one|two|three|four|five|six|seven|eight|nine)\b)"
)


def _spelled_days_to_digits(t: str) -> str:
    """Spelled days of a month as digits, only where they name a day: "april twenty
    ninth" → "april 29th", "the ninth of may" → "the 9th of may", "april twenty nine"
    → "april 29". "the first one" or "a second payment" are left alone."""

    def ordinal(m: re.Match[str]) -> str:
        n = ORDINAL_WORDS[re.sub(r"\s+", " ", m["ord"])]
        return f"{m['before']}{n}{_suffix(n)}"

    t = _SPELLED_AFTER_MONTH.sub(ordinal, t)
    t = _SPELLED_BEFORE_OF.sub(ordinal, t)
    return _SPELLED_CARDINAL.sub(lambda m: f"{m['before']}{_day_words_value(m['num'])}", t)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year(text: str) -> int:
    y = int(text)
    return y + (2000 if y < 50 else 1900) if y < 100 else y


def _next_on_or_after(today: date, month: int, day: int) -> date | None:
    candidate = _safe_date(today.year, month, day)
    if candidate is None:
        return None
    if candidate < today:
        candidate = _safe_date(today.year + 1, month, day)
    return candidate


def _next_day_of_month(today: date, day: int) -> date | None:
    """The next date, today or later, falling on ``day`` of a month."""
    for months_ahead in range(0, 3):
        base = add_months(date(today.year, today.month, 1), months_ahead)
        candidate = _safe_date(base.year, base.month, day)
        if candidate and candidate >= today:
            return candidate
    return None


def _weekday_date(today: date, weekday: int, qualifier: str | None) -> date:
    delta = (weekday - today.weekday()) % 7
    if qualifier == "next":
        # "next Friday": the Friday of next week when today is before Friday,
        # i.e. at least 7 days ahead only if the plain one would be this week.
        delta = delta + 7 if delta < 7 and delta != 0 and today.weekday() < weekday else delta
        delta = delta or 7
    return today + timedelta(days=delta)


def _iso_date(t: str, today: date) -> FoundDate | None:
    if (m := re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", t)) and (
        d := _safe_date(int(m[1]), int(m[2]), int(m[3]))
    ):
        return FoundDate(d, m[0], True)
    return None


def _slash_date(t: str, today: date) -> FoundDate | None:
    """5/22, 5/22/2026, 05-22-26 (US month first)."""
    m = re.search(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b", t)
    if m is None:
        return None
    month, day = int(m[1]), int(m[2])
    if m[3]:
        d = _safe_date(_year(m[3]), month, day)
        return FoundDate(d, m[0], True) if d else None
    d = _next_on_or_after(today, month, day)
    return FoundDate(d, m[0]) if d else None


def _month_name_date(t: str, today: date) -> FoundDate | None:
    """May 22, May 22nd 2026, 22 May, the 22nd of May."""
    patterns = (
        (
            rf"\b({_MONTH_RE})\.?\s+(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?:am|pm|:))"
            rf"(?:,?\s+(\d{{4}}))?",
            1,
            2,
        ),
        (
            rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b{_NOT_MAY_VERB}"
            rf"(?:,?\s+(\d{{4}}))?",
            2,
            1,
        ),
    )
    for pattern, month_group, day_group in patterns:
        if m := re.search(pattern, t):
            month, day = MONTHS[m[month_group]], int(m[day_group])
            d = _safe_date(int(m[3]), month, day) if m[3] else _next_on_or_after(today, month, day)
            if d:
                return FoundDate(d, m[0], bool(m[3]))
    return None


def _day_of_next_month(t: str, today: date) -> FoundDate | None:
    """the 5th of next month (not "pay 20 next month": that 20 is an amount)."""
    m = re.search(
        r"\b(?:the\s+(\d{1,2})(?:st|nd|rd|th)?|(\d{1,2})(?:st|nd|rd|th))\s+(?:of\s+)?"
        r"next\s+month\b",
        t,
    )
    if m is None:
        return None
    base = add_months(date(today.year, today.month, 1), 1)
    d = _safe_date(base.year, base.month, int(m[1] or m[2]))
    return FoundDate(d, m[0]) if d else None


# "the first/second/third" alone usually picks a loan or an option, not a day.
_LATER_ORDINALS = "|".join(w for w in _ORDINAL_RE.split("|") if ORDINAL_WORDS[w] > 3)
_ORDINAL_DAY_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[str], int]], ...] = (
    (re.compile(rf"\b(?:(?:{_WEEKDAY_RE})\s+)?the\s+(\d{{1,2}})(?:st|nd|rd|th)\b"), int),
    (
        re.compile(rf"\b(?:on|by|until|till|before)\s+the\s+({_ORDINAL_RE})\b"),
        ORDINAL_WORDS.__getitem__,
    ),
    (
        re.compile(
            rf"\bthe\s+({_LATER_ORDINALS})\b(?=\s*(?:$|[.,!?;]|(?:and|or|then|please|instead|"
            r"if|at|when|after|before|latest|at the latest)\b))"
        ),
        ORDINAL_WORDS.__getitem__,
    ),
    (re.compile(r"\b(?:on|by)\s+the\s+(\d{1,2})\b(?!\s*(?:dollars|bucks|%|/|:))"), int),
    (re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b"), int),
)


def _ordinal_day(t: str, today: date) -> FoundDate | None:
    """Friday the 13th, the 20th, on the 1st, on the nineteenth, the twenty-ninth."""
    for pattern, to_day in _ORDINAL_DAY_PATTERNS:
        if (m := pattern.search(t)) and (d := _next_day_of_month(today, to_day(m[1]))):
            return FoundDate(d, m[0])
    return None


_PAY_WORDS = r"\b(pay|paying|send|promise|cover|make (the|a|my) payment)\b"


def _today_words(t: str, today: date) -> FoundDate | None:
    if re.search(r"\b(later today|today)\b", t) and re.search(_PAY_WORDS, t):
        return FoundDate(today, "today")
    return None


def _tonight_words(t: str, today: date) -> FoundDate | None:
    """ "tonight", "after work": today, unless another day was named ("tomorrow after
    work", "friday night"), so this runs after every other parser."""
    if re.search(r"\b(tonight|this (evening|afternoon)|after work)\b", t) and re.search(
        _PAY_WORDS, t
    ):
        return FoundDate(today, "today")
    return None


_COUNT_RE = "|".join(sorted(WORD_NUMBERS, key=len, reverse=True))
_SPAN_UNIT_RE = r"days?|weeks?|wks?|months?|mos"
_SPAN_RE = rf"(?P<n>\d{{1,3}}|{_COUNT_RE})\s+(?P<unit>{_SPAN_UNIT_RE})"  # "2 wks", "a week"


def _count(word: str) -> int:
    return int(word) if word.isdigit() else WORD_NUMBERS[word]


def _add_span(start: date, n: int, unit: str) -> date:
    if unit.startswith("d"):
        return start + timedelta(days=n)
    if unit.startswith("w"):
        return start + timedelta(weeks=n)
    return add_months(start, n)


def _offset_date(t: str, today: date) -> FoundDate | None:
    """a week from today, two weeks from now, a week from tomorrow, 10 days from friday
    (before "today" and "tomorrow" alone are read)."""
    anchor = (
        rf"(?P<anchor>today|now|{_TOMORROW_RE}|(?:(?P<q>this|next|coming)\s+)?"
        rf"(?P<day>{_WEEKDAY_RE}))"
    )
    if m := re.search(rf"\b{_SPAN_RE}\s+(?:from|after)\s+{anchor}\b", t):
        start = today
        if re.fullmatch(_TOMORROW_RE, m["anchor"]):
            start = today + timedelta(days=1)
        elif m["day"]:
            start = _weekday_date(today, WEEKDAYS[m["day"]], m["q"])
        return FoundDate(_add_span(start, _count(m["n"]), m["unit"]), m[0])
    return None


def _relative_words(t: str, today: date) -> FoundDate | None:
    if m := re.search(r"\b(?:the\s+)?day after tomorrow\b", t):
        return FoundDate(today + timedelta(days=2), m[0])
    if re.search(rf"\b({_TOMORROW_RE})\b", t):
        return FoundDate(today + timedelta(days=1), "tomorrow")
    if m := re.search(rf"\b(this|next|coming|on|by)?\s*({_WEEKDAY_RE})\b", t):
        qualifier = (m[1] or "").strip() or None
        return FoundDate(_weekday_date(today, WEEKDAYS[m[2]], qualifier), m[0].strip())
    if m := re.search(r"\bthis weekend\b", t):
        return FoundDate(_weekday_date(today, 5, None), m[0])
    return _in_some_time(t, today)


def _in_some_time(t: str, today: date) -> FoundDate | None:
    """in 10 days, in 2 wks, next week, end of the month, the last day of next month."""
    if m := re.search(rf"\bin\s+(?:about\s+|around\s+|like\s+|another\s+)?{_SPAN_RE}\b", t):
        return FoundDate(_add_span(today, _count(m["n"]), m["unit"]), m[0])
    if m := re.search(r"\bnext week\b", t):
        return FoundDate(today + timedelta(days=7 - today.weekday()), m[0])
    if m := re.search(
        r"\b(?:(?:the\s+)?(?:end|last day) of (?:the\s+|this\s+)?month|month[- ]end|"
        r"end of month)\b",
        t,
    ):
        nxt = add_months(date(today.year, today.month, 1), 1)
        return FoundDate(nxt - timedelta(days=1), m[0])
    if m := re.search(r"\b(?:the\s+)?(?:end|last day) of next month\b", t):
        after_next = add_months(date(today.year, today.month, 1), 2)
        return FoundDate(after_next - timedelta(days=1), m[0])
    if m := re.search(r"\b(?:the\s+)?(?:start|beginning|first day) of next month\b", t):
        return FoundDate(add_months(date(today.year, today.month, 1), 1), m[0])
    if m := re.search(r"\bnext month\b", t):
        return FoundDate(add_months(today, 1), m[0])
    return None


_DATE_PARSERS = (
    _iso_date,
    _slash_date,
    _month_name_date,
    _day_of_next_month,
    _ordinal_day,
    _offset_date,
    _today_words,
    _relative_words,
    _tonight_words,
)


def extract_date(text: str, today: date) -> FoundDate | None:
    """The first date meant as a future payment date (relative to ``today``)."""
    t = _spelled_days_to_digits(text.lower())
    for parser in _DATE_PARSERS:
        if found := parser(t, today):
            return found
    return None


_ORDINAL_WORD = re.compile(
    r"\b(" + "|".join(sorted((re.escape(w) for w in ORDINAL_WORDS), key=len, reverse=True)) + r")\b"
)


def _ordinal_words_to_digits(t: str) -> str:
    """ "april twelfth 1988" → "april 12 1988" (longest words first, one pass)."""
    return _ORDINAL_WORD.sub(lambda m: str(ORDINAL_WORDS[m[1]]), t)


# Compiled once: built from the month names, they are too many for re's own cache to keep
# when the other dynamic patterns run too.
_BIRTH_MONTH_DAY_YEAR = re.compile(
    rf"\b({_MONTH_RE})\.?(?:\s+|[-/]|\.)(\d{{1,2}})(?:st|nd|rd|th)?,?(?:\s+|[-/]|\.)"
    rf"(\d{{4}}|\d{{2}})\b"
)
_BIRTH_DAY_MONTH_YEAR = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+(?:of\s+)?|[-/]|\.)({_MONTH_RE})\.?,?"
    rf"(?:\s+|[-/]|(?<=\.))(\d{{4}}|\d{{2}})\b"
)
_BIRTH_YEAR_FIRST = re.compile(
    rf"\b((?:19|20)\d{{2}})(?:,?\s+(?:(?:on|in)\s+)?(?:the\s+)?|[-/.])"
    rf"(?:({_MONTH_RE})\.?(?:\s+(?:the\s+)?|[-/])(\d{{1,2}})(?:st|nd|rd|th)?"
    rf"|(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+(?:of\s+)?|[-/])({_MONTH_RE}))\b(?![,\s]*\d)"
)


def extract_birth_date(text: str) -> date | None:
    """A date of birth in any common form (it always carries a year)."""
    t = re.sub(r"[‘’']\s?(\d{2})\b", r" \1", _ordinal_words_to_digits(text.lower()))
    if m := re.search(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", t):
        return _safe_date(int(m[1]), int(m[2]), int(m[3]))
    if m := re.search(r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})\b", t):
        a, b, y = int(m[1]), int(m[2]), _year(m[3])
        return _safe_date(y, a, b) or _safe_date(y, b, a)  # US month/day first
    # "April 12, 1988", "Aug-27-1979"; "12 April 1988", "27-Aug-1979", "27/aug/79"
    if m := _BIRTH_MONTH_DAY_YEAR.search(t):
        return _safe_date(_year(m[3]), MONTHS[m[1]], int(m[2]))
    if m := _BIRTH_DAY_MONTH_YEAR.search(t):
        return _safe_date(_year(m[3]), MONTHS[m[2]], int(m[1]))
    # The year first: "born in 1979, on August 27th", "1979-Aug-27", "1979, the 27th of august"
    if m := _BIRTH_YEAR_FIRST.search(t):
        month, day = (m[2], m[3]) if m[2] else (m[5], m[4])
        return _safe_date(int(m[1]), MONTHS[month], int(day))
    if (m := re.search(r"\b(\d{2})(\d{2})(\d{4})\b", t)) and (
        found := _safe_date(int(m[3]), int(m[1]), int(m[2]))
    ):  # 04121988
        return found
    if m := re.search(r"\b((?:19|20)\d{2})(\d{2})(\d{2})\b", t):  # 19880412
        return _safe_date(int(m[1]), int(m[2]), int(m[3]))
    return None


_PHONE_RE = re.compile(r"(?:\+?1[\s.-]?)?\(?\b\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b")
_CARD_LIKE = re.compile(r"\b\d{4}(?:[ -]\d{4}){2,3}\b|\b\d{9,}\b")


def extract_postal_code(text: str) -> str | None:
    """A 5-digit ZIP code (ZIP+4 accepted), not part of a date, phone, card or amount."""
    cleaned = re.sub(r"\$\s?[\d,]+(\.\d+)?", " ", text)
    cleaned = re.sub(r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b", " ", cleaned)
    cleaned = re.sub(r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b", " ", cleaned)
    cleaned = re.sub(r"\b\d{8}\b", " ", cleaned)  # 04121988
    cleaned = _CARD_LIKE.sub(" ", cleaned)
    cleaned = _PHONE_RE.sub(" ", cleaned)
    if m := re.search(
        r"\b(?:zip|postal|post code|zipcode|zip code)\D{0,12}?(\d{5})(?:-\d{4})?\b",
        cleaned,
        re.IGNORECASE,
    ):
        return m[1]
    candidates = re.findall(r"(?<![\w$.,/-])(\d{5})(?:-\d{4})?(?![\d]|[,.]\d)", cleaned)
    return candidates[-1] if candidates else None


_AMOUNT_RE = re.compile(
    r"(?:\$\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?)"
    r"|(?:\b(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s?(?:dollars|bucks|usd)\b)",
    re.IGNORECASE,
)
# "2k", "$1.5k", "2 grand" (not a 401k).
_THOUSANDS_RE = re.compile(
    r"(?<![\w.,])(?!40[13]k)\$?(\d{1,3}(?:\.\d{1,2})?)\s?(?:k|grand)\b", re.IGNORECASE
)
_NUMBER_WORD_RE = "|".join(
    sorted([*_TEEN_WORDS, *_TENS_WORDS, "hundred", "thousand", "grand"], key=len, reverse=True)
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
_NOT_AMOUNT_SPANS = (
    _PHONE_RE,
    re.compile(r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b"),
    re.compile(r"\b\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?\b"),
    re.compile(r"\b(?:zip|postal|post code|zipcode|zip code)\D{0,12}?\d{5}(?:-\d{4})?\b", re.I),
    re.compile(r"\b[a-z]{1,3}-?\d{1,10}\b", re.IGNORECASE),
    re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o'?clock)(?!\w)", re.I),
    re.compile(r"\b\d{1,2}:\d{2}\b"),
    re.compile(
        rf"\b(?:{_MONTH_RE})\.?\s+(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?"
        rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTH_RE})\b{_NOT_MAY_VERB}",
        re.IGNORECASE,
    ),
    re.compile(r"\b\d{1,2}(?:st|nd|rd|th)\b", re.IGNORECASE),
)


def _mask(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m[0]), text)


def _free(spans: list[tuple[int, int, Decimal]], start: int, end: int) -> bool:
    """True when ``start:end`` overlaps none of the amounts already found."""
    return all(end <= s or start >= e for s, e, _ in spans)


def _two_digit_words(words: list[str]) -> int | None:
    """ "fifty", "twenty five", "fifteen" → 10..99."""
    if len(words) == 1 and (n := _TEEN_WORDS.get(words[0], _TENS_WORDS.get(words[0]))):
        return n if n >= 10 else None
    if len(words) == 2 and words[0] in _TENS_WORDS and words[1] in _UNIT_WORDS:
        return _TENS_WORDS[words[0]] + _UNIT_WORDS[words[1]]
    return None


def words_to_number(phrase: str) -> int | None:
    """ "a hundred and fifty" → 150, "seventy-five" → 75, "fifteen hundred" → 1500,
    "a grand" → 1000, "one fifty" → 150 (said for $150); None when not a number."""
    words = re.split(r"[\s-]+", phrase.lower().strip())
    if len(words) in (2, 3) and 1 <= _TEEN_WORDS.get(words[0], 0) <= 19:
        rest = _two_digit_words(words[1:])
        if rest is not None and "and" not in words:
            return _TEEN_WORDS[words[0]] * 100 + rest  # "one fifty", "twelve fifty"
    total = current = 0
    prev = None
    for w in words:
        if w in ("a", "an"):
            if prev is not None:
                return None
            current, prev = 1, "a"  # only before hundred/thousand/grand
        elif w == "and":
            if prev not in ("hundred", "thousand"):
                return None
            prev = "and" if prev == "hundred" else "thousand-and"
        elif w in _TEEN_WORDS:
            if prev in ("a", "unit", "teen") or (prev == "tens" and _TEEN_WORDS[w] >= 10):
                return None
            current += _TEEN_WORDS[w]
            prev = "unit" if _TEEN_WORDS[w] < 10 else "teen"
        elif w in _TENS_WORDS:
            if prev in ("a", "unit", "teen", "tens"):
                return None
            current += _TENS_WORDS[w]
            prev = "tens"
        elif w == "hundred":
            if prev not in ("a", "unit", "teen", "tens") or current >= 100:
                return None
            current *= 100
            prev = "hundred"
        elif w in ("thousand", "grand"):
            if prev in (None, "and", "thousand", "thousand-and") or total:
                return None
            total, current, prev = current * 1000, 0, "thousand"
        else:
            return None
    if prev in ("a", "and", "thousand-and"):
        return None
    return total + current


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
    return [value for _, _, value in sorted(spans, key=lambda s: s[0])]


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
        r"(january|february|march|april|may|june|july|august|september|october|november|"
        r"december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)'?s? "
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


def extract_day_of_month(text: str) -> int | None:
    """A day of the month for a due-date change ("the 20th", "15", "the fifth")."""
    t = text.lower()
    if m := re.search(r"\b(\d{1,2})(?:st|nd|rd|th)\b", t):
        return int(m[1])
    if m := _ORDINAL_WORD.search(t):
        return ORDINAL_WORDS[m[1]]
    if m := re.search(
        r"\b(?:to|on|day|it|be)\s+(\d{1,2})\b(?!\s*(?:dollars|bucks|days|%|/|:|"
        r"am\b|pm\b))",
        t,
    ):
        return int(m[1])
    if m := re.fullmatch(r"\s*(\d{1,2})\s*\.?\s*", t):
        return int(m[1])
    return None


def extract_phone(text: str) -> str | None:
    if m := re.search(r"(\+?1[\s.-]?)?\(?\b(\d{3})\)?[\s.-]?(\d{3})[\s.-]?(\d{4})\b", text):
        return "".join(g for g in m.groups()[1:])
    if m := re.search(r"\+?1?[\s.-]?\b(\d{3})[\s.-](\d{4})\b", text):
        return m[1] + m[2]
    return None


CHANNELS = {
    "sms": r"\b(sms|text|texts|texting|text messages?)\b",
    "email": r"\b(e-?mails?|emailing)\b",
    "calls": r"\b(calls?|calling|phone calls?|phon(e|ing)(?! (number|#|no\b|on file))|"
    r"ring(ing)?|robocalls?|voicemails?)\b",
}


def extract_channels(text: str) -> list[str]:
    t = text.lower()
    return [name for name, pattern in CHANNELS.items() if re.search(pattern, t)]


_HOUR_RANGE = re.compile(
    r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?\s*(?:-|–|to|and|until|till|through)\s*"
    r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?(?!\s*(?:st|nd|rd|th|days?|/|\d))"
)
_CONTACT_WORDS = re.compile(
    r"\b(between|from|hours|window|only|call\w*|contact\w*|text\w*|reach\w*|phone\w*|"
    r"prefer\w*|like|mornings?|afternoons?|evenings?)\b"
)
# "after 6pm" / "before noon": the open end is the usual calling day (8 a.m. to 9 p.m.).
EARLIEST_CONTACT, LATEST_CONTACT = 8, 21
_PARTS_OF_DAY = (
    ("morning", "08:00-12:00"),
    ("afternoon", "12:00-17:00"),
    ("evening", "17:00-20:00"),
)


def extract_contact_hours(text: str) -> str | None:
    """ "between 9 and 5", "9am-5pm", "10:00 to 16:00", "9 and noon", "mornings" →
    ``HH:MM-HH:MM``."""
    t = re.sub(r"\b(?:12\s*)?(?:noon|midday|mid-day)\b", "12pm", text.lower())
    t = re.sub(r"\b(?:12\s*)?midnight\b", "12am", t)
    t = re.sub(r"\b(\d{1,2})\s+(?:in the morning|this morning)\b", r"\1am", t)
    t = re.sub(r"\b(\d{1,2})\s+(?:at night|in the evening|in the afternoon|tonight)\b", r"\1pm", t)
    # "not before 10am or after 7pm": the window between the two.
    if m := re.search(
        r"\bbefore\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b.{0,30}?\b(?:or|and|nor)\s+"
        r"(?:\w+\s+){0,2}?after\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b",
        t,
    ):
        start = _to_24h(int(m[1]), m[3] or ("am" if int(m[1]) >= 7 else None))
        end = _to_24h(int(m[4]), m[6] or ("pm" if int(m[4]) < 12 else None))
        if start is not None and end is not None and start < end and _CONTACT_WORDS.search(t):
            return f"{start:02d}:{int(m[2] or 0):02d}-{end:02d}:{int(m[5] or 0):02d}"
    if (m := _HOUR_RANGE.search(t)) and _CONTACT_WORDS.search(t):
        hours = _range_hours(int(m[1]), m[3], int(m[4]), m[6])
        if hours is not None:
            start, end = hours
            if end == 24:  # "until midnight": the day's last minute (the tool takes 00-23)
                return f"{start:02d}:{int(m[2] or 0):02d}-23:59"
            return f"{start:02d}:{int(m[2] or 0):02d}-{end:02d}:{int(m[5] or 0):02d}"
    if m := re.search(
        r"\b(after|from|past)\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"
        r"(?!\s*(?:st|nd|rd|th|days?|/))",
        t,
    ):
        hour = _to_24h(int(m[2]), m[4] or ("pm" if int(m[2]) < 8 else None))
        if (
            hour is not None
            and EARLIEST_CONTACT <= hour < LATEST_CONTACT
            and _CONTACT_WORDS.search(t)
        ):
            return f"{hour:02d}:{int(m[3] or 0):02d}-{LATEST_CONTACT:02d}:00"
    if m := re.search(
        r"\b(before|until|till)\s+(noon|\d{1,2})(?::(\d{2}))?\s*"
        r"(am|pm|a\.m\.|p\.m\.)?(?!\s*(?:st|nd|rd|th|days?|/))",
        t,
    ):
        hour = (
            12 if m[2] == "noon" else _to_24h(int(m[2]), m[4] or ("pm" if int(m[2]) < 8 else None))
        )
        if (
            hour is not None
            and EARLIEST_CONTACT < hour <= LATEST_CONTACT
            and _CONTACT_WORDS.search(t)
        ):
            return f"{EARLIEST_CONTACT:02d}:00-{hour:02d}:{int(m[3] or 0):02d}"
    for word, hours_text in _PARTS_OF_DAY:
        if re.search(rf"\b{word}s?\b", t) and re.search(
            r"\b(only|call\w*|contact\w*|"
            r"prefer\w*|reach\w*)\b",
            t,
        ):
            return hours_text
    return None


def _range_hours(
    start: int, start_mer: str | None, end: int, end_mer: str | None
) -> tuple[int, int] | None:
    """A daytime range: "9 to 5" is 09-17, "6 and 8 pm" is 18-20, "8 to 11" is 08-11."""
    if start_mer is None and end_mer and start <= end:
        # "6 and 8 pm" is 6 pm; "9 and 12pm" (noon) is 9 am.
        inherited, last = _to_24h(start, end_mer), _to_24h(end, end_mer)
        if inherited is not None and last and inherited < last:
            start_mer = end_mer
    first = _to_24h(start, start_mer)
    if first is None:
        return None
    if start_mer is None and start < 7:
        first += 12  # nobody asks for calls at 3 a.m.
    last = _to_24h(end, end_mer)
    if last is None:
        return None
    if end_mer is None and last <= first and last < 12:
        last += 12
    if last == 0 and end_mer:
        last = 24  # "6pm to midnight"
    if not 0 <= first < last <= 24:
        return None
    return first, last


def _to_24h(hour: int, meridiem: str | None) -> int | None:
    if hour > 23:
        return None
    if meridiem and meridiem.startswith("p") and hour < 12:
        return hour + 12
    if meridiem and meridiem.startswith("a") and hour == 12:
        return 0
    return hour
