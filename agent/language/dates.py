"""Dates in customer text: months and weekdays (defined here once), payment dates
relative to today ("next friday", "the 20th", "two weeks from now", "april twenty
ninth"), dates of birth in any common form, a day of the month, and lenient parsing of
a date given as a tool argument. Pure and deterministic."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from agent.language.number_words import (
    ORDINAL_PATTERN,
    ORDINAL_WORDS,
    TEEN_WORDS,
    TENS_WORDS,
    WORD_NUMBERS,
    ordinal_suffix,
)
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
# Month names as replies write them ("January" .. "December").
MONTH_NAMES: tuple[str, ...] = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAY_NAMES: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
# Three-letter abbreviations (and "sept"), as typed in dates like "27-Aug-1979".
MONTH_ABBREVIATIONS: tuple[str, ...] = tuple(m for m in MONTHS if len(m) == 3 or m == "sept")
# Every month word (names, abbreviations, a common misspelling), longest first.
MONTH_PATTERN = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY_RE = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_TOMORROW_RE = r"tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow|2morrow"
# "I can pay 20 may be more": the verb "may", not the month.
NOT_MAY_VERB = r"(?!(?<=may)\s+(?:be|i|not|have|need|take|get|want|also|as|pay)\b)"
_MONTH_NOT_MAY_RE = "|".join(sorted((m for m in MONTHS if m != "may"), key=len, reverse=True))
_DAY_NUMBER_RE = (
    r"(?:twenty|thirty)(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?|"
    + "|".join(sorted((w for w in TEEN_WORDS if w != "zero"), key=len, reverse=True))
)


@dataclass(frozen=True)
class FoundDate:
    value: date
    text: str
    explicit_year: bool = False


def _day_words_value(words: str) -> int:
    parts = re.split(r"[\s-]+", words)
    return sum(TENS_WORDS.get(p, 0) or TEEN_WORDS.get(p, 0) for p in parts)


# "may" is the verb in "I may first pay 50": it is a month after on/by/until/before,
# or before an ordinal other than first/second/third ("may twenty-ninth").
_MAY_AFTER = r"(?:(?<=on )|(?<=by )|(?<=until )|(?<=before ))may"
_MONTH_THEN = rf"\b(?:{_MONTH_NOT_MAY_RE}|{_MAY_AFTER})\.?\s+(?:the\s+)?"
_MONTH_THEN_ORD = (
    rf"\b(?:{_MONTH_NOT_MAY_RE}|{_MAY_AFTER}|may(?!\s+(?:the\s+)?(?:first|second|third)\b))"
    r"\.?\s+(?:the\s+)?"
)
# Compiled once (built from month and number words, they are large).
_SPELLED_AFTER_MONTH = re.compile(rf"(?P<before>{_MONTH_THEN_ORD})(?P<ord>{ORDINAL_PATTERN})\b")
_SPELLED_BEFORE_OF = re.compile(
    rf"(?P<before>\b)(?P<ord>{ORDINAL_PATTERN})(?=\s+of\s+(?:(?:{MONTH_PATTERN})\b|"
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
        return f"{m['before']}{n}{ordinal_suffix(n)}"

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
            rf"\b({MONTH_PATTERN})\.?\s+(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?:am|pm|:))"
            rf"(?:,?\s+(\d{{4}}))?",
            1,
            2,
        ),
        (
            rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({MONTH_PATTERN})\b{NOT_MAY_VERB}"
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
_LATER_ORDINALS = "|".join(w for w in ORDINAL_PATTERN.split("|") if ORDINAL_WORDS[w] > 3)
_ORDINAL_DAY_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[str], int]], ...] = (
    (re.compile(rf"\b(?:(?:{_WEEKDAY_RE})\s+)?the\s+(\d{{1,2}})(?:st|nd|rd|th)\b"), int),
    (
        re.compile(rf"\b(?:on|by|until|till|before)\s+the\s+({ORDINAL_PATTERN})\b"),
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
    rf"\b({MONTH_PATTERN})\.?(?:\s+|[-/]|\.)(\d{{1,2}})(?:st|nd|rd|th)?,?(?:\s+|[-/]|\.)"
    rf"(\d{{4}}|\d{{2}})\b"
)
_BIRTH_DAY_MONTH_YEAR = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+(?:of\s+)?|[-/]|\.)({MONTH_PATTERN})\.?,?"
    rf"(?:\s+|[-/]|(?<=\.))(\d{{4}}|\d{{2}})\b"
)
_BIRTH_YEAR_FIRST = re.compile(
    rf"\b((?:19|20)\d{{2}})(?:,?\s+(?:(?:on|in)\s+)?(?:the\s+)?|[-/.])"
    rf"(?:({MONTH_PATTERN})\.?(?:\s+(?:the\s+)?|[-/])(\d{{1,2}})(?:st|nd|rd|th)?"
    rf"|(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+(?:of\s+)?|[-/])({MONTH_PATTERN}))\b(?![,\s]*\d)"
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


# "first", "second" and "third" are a day only where they name one ("the first", "the
# 2nd of the month", the whole reply), not in "confirm it first" or "the first one".
_LOW_ORDINAL_DAY = re.compile(
    r"^\s*(?:the\s+)?#\s*[.!]?\s*$"
    r"|\bthe\s+#(?!\s+(?:one|loan|account|time|payment|installment|thing|option|step))"
    r"|#\s+of\s+(?:the|each|every)\s+month"
)


def extract_day_of_month(text: str) -> int | None:
    """A day of the month for a due-date change ("the 20th", "15", "the fifth")."""
    t = text.lower()
    if m := re.search(r"\b(\d{1,2})(?:st|nd|rd|th)\b", t):
        return int(m[1])
    for m in _ORDINAL_WORD.finditer(t):
        if ORDINAL_WORDS[m[1]] > 3 or _LOW_ORDINAL_DAY.search(t[: m.start()] + "#" + t[m.end() :]):
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


def parse_iso_date(value: object) -> date | None:
    """A date given as ``YYYY-MM-DD`` (a time after it is ignored), or a ``date``."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def parse_loose_date(value: object, today: date | None = None) -> date | None:
    """A date given as a tool argument: ISO first, then the conversational forms above
    (a payment date relative to ``today``; without ``today``, a date of birth)."""
    parsed = parse_iso_date(value)
    if parsed is not None or not isinstance(value, str):
        return parsed
    if today is None:
        return extract_birth_date(value)
    found = extract_date(value, today)
    if found is not None:
        return found.value
    return _dateparser_date(value, today)


# dateparser reads wordings the rules above do not ("in a fortnight", "a week on
# friday"), at about 2 ms a call (plus 0.3 s to import and 0.4 s for its first call):
# it is imported on first use and asked only about a tool argument the rules could not
# read, never about every message (its search over free text also finds dates in
# "I may pay 20, may be more").
_DATEPARSER_PARSERS = ["relative-time", "custom-formats", "absolute-time"]


def _dateparser_date(value: str, today: date) -> date | None:
    """A future payment date that dateparser reads in the whole of ``value``."""
    text = value.strip()
    if not re.search(r"[a-z]{3}", text, re.IGNORECASE) or len(text) > 60:
        return None  # bare numbers are amounts or days, not dates; long text is a sentence
    import dateparser

    parsed = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": datetime.combine(today, time()),
            "RETURN_AS_TIMEZONE_AWARE": False,
            "PARSERS": _DATEPARSER_PARSERS,
        },
    )
    if parsed is None or parsed.date() < today:
        return None
    return parsed.date()
