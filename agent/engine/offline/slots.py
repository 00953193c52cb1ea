"""Slot extraction: amounts, dates, birth dates, ZIP codes, days of month, loan numbers,
phones and contact channels from informal customer text. Pure and deterministic."""

from __future__ import annotations

import re
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


@dataclass(frozen=True)
class FoundDate:
    value: date
    text: str
    explicit_year: bool = False


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
        (rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b(?:,?\s+(\d{{4}}))?", 2, 1),
    )
    for pattern, month_group, day_group in patterns:
        if m := re.search(pattern, t):
            month, day = MONTHS[m[month_group]], int(m[day_group])
            d = _safe_date(int(m[3]), month, day) if m[3] else _next_on_or_after(today, month, day)
            if d:
                return FoundDate(d, m[0], bool(m[3]))
    return None


def _day_of_next_month(t: str, today: date) -> FoundDate | None:
    """the 5th of next month."""
    m = re.search(r"\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?next\s+month\b", t)
    if m is None:
        return None
    base = add_months(date(today.year, today.month, 1), 1)
    d = _safe_date(base.year, base.month, int(m[1]))
    return FoundDate(d, m[0]) if d else None


def _ordinal_day(t: str, today: date) -> FoundDate | None:
    """Friday the 13th, the 20th, on the 1st, on the nineteenth."""
    words = "|".join(sorted(ORDINAL_WORDS, key=len, reverse=True))
    candidates = (
        (rf"\b(?:(?:{_WEEKDAY_RE})\s+)?the\s+(\d{{1,2}})(?:st|nd|rd|th)\b", int),
        (rf"\b(?:on|by)\s+the\s+({words})\b", ORDINAL_WORDS.__getitem__),
        (r"\b(?:on|by)\s+the\s+(\d{1,2})\b(?!\s*(?:dollars|bucks|%|/|:))", int),
        (r"\b(\d{1,2})(?:st|nd|rd|th)\b", int),
    )
    for pattern, to_day in candidates:
        if (m := re.search(pattern, t)) and (d := _next_day_of_month(today, to_day(m[1]))):
            return FoundDate(d, m[0])
    return None


def _today_words(t: str, today: date) -> FoundDate | None:
    if re.search(
        r"\b(later today|today|tonight|this (evening|afternoon)|after work)\b", t
    ) and re.search(r"\b(pay|paying|send|promise|cover|make (the|a|my) payment)\b", t):
        return FoundDate(today, "today")
    return None


def _relative_words(t: str, today: date) -> FoundDate | None:
    if m := re.search(r"\b(?:the\s+)?day after tomorrow\b", t):
        return FoundDate(today + timedelta(days=2), m[0])
    if re.search(r"\b(tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow)\b", t):
        return FoundDate(today + timedelta(days=1), "tomorrow")
    if m := re.search(rf"\b(this|next|coming|on|by)?\s*({_WEEKDAY_RE})\b", t):
        qualifier = (m[1] or "").strip() or None
        return FoundDate(_weekday_date(today, WEEKDAYS[m[2]], qualifier), m[0].strip())
    if m := re.search(r"\bthis weekend\b", t):
        return FoundDate(_weekday_date(today, 5, None), m[0])
    return _in_some_time(t, today)


def _in_some_time(t: str, today: date) -> FoundDate | None:
    """in 5 days, in two weeks, next week, end of the month, next month."""
    numbers = "|".join(sorted(WORD_NUMBERS, key=len, reverse=True))
    if m := re.search(rf"\bin\s+(\d{{1,3}}|{numbers})\s+(day|days|week|weeks|month|months)\b", t):
        n = int(m[1]) if m[1].isdigit() else WORD_NUMBERS[m[1]]
        if m[2].startswith("day"):
            return FoundDate(today + timedelta(days=n), m[0])
        if m[2].startswith("week"):
            return FoundDate(today + timedelta(weeks=n), m[0])
        return FoundDate(add_months(today, n), m[0])
    if m := re.search(r"\bnext week\b", t):
        return FoundDate(today + timedelta(days=7 - today.weekday()), m[0])
    if m := re.search(r"\b(end of (the|this) month|month end|end of month)\b", t):
        nxt = add_months(date(today.year, today.month, 1), 1)
        return FoundDate(nxt - timedelta(days=1), m[0])
    if m := re.search(r"\bnext month\b", t):
        return FoundDate(add_months(today, 1), m[0])
    return None


_DATE_PARSERS = (
    _iso_date,
    _slash_date,
    _month_name_date,
    _day_of_next_month,
    _ordinal_day,
    _today_words,
    _relative_words,
)


def extract_date(text: str, today: date) -> FoundDate | None:
    """The first date meant as a future payment date (relative to ``today``)."""
    t = text.lower()
    for parser in _DATE_PARSERS:
        if found := parser(t, today):
            return found
    return None


def _ordinal_words_to_digits(t: str) -> str:
    """ "april twelfth 1988" → "april 12 1988" (longest words first)."""
    for word, n in sorted(ORDINAL_WORDS.items(), key=lambda kv: -len(kv[0])):
        t = re.sub(rf"\b{word}\b", str(n), t)
    return t


def extract_birth_date(text: str) -> date | None:
    """A date of birth in any common form (it always carries a year)."""
    t = re.sub(r"[‘’']\s?(\d{2})\b", r" \1", _ordinal_words_to_digits(text.lower()))
    if m := re.search(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", t):
        return _safe_date(int(m[1]), int(m[2]), int(m[3]))
    if m := re.search(r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})\b", t):
        a, b, y = int(m[1]), int(m[2]), _year(m[3])
        return _safe_date(y, a, b) or _safe_date(y, b, a)  # US month/day first
    if m := re.search(
        rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}}|\d{{2}})\b", t
    ):
        return _safe_date(_year(m[3]), MONTHS[m[1]], int(m[2]))
    if m := re.search(
        rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\.?,?\s+(\d{{4}}|\d{{2}})\b", t
    ):
        return _safe_date(_year(m[3]), MONTHS[m[2]], int(m[1]))
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


def extract_amounts(text: str) -> list[Decimal]:
    """Money amounts written with ``$`` or a currency word, in order."""
    found = []
    for m in _AMOUNT_RE.finditer(text):
        whole = (m[1] or m[3]).replace(",", "")
        cents = m[2] or m[4] or "0"
        try:
            found.append(Decimal(f"{whole}.{cents.ljust(2, '0')}"))
        except InvalidOperation:
            continue
    if not found:
        # "pay 165 on friday": a bare number right after a paying verb.
        m = re.search(
            r"\b(?:pay|paying|send|sending|promise|put down|make|cover|give|do|"
            r"put)\s+(?:you\s+|u\s+|y'?all\s+)?"
            r"(\d{2,6}(?:\.\d{1,2})?)\b(?!\s*(?:st|nd|rd|th|days?|weeks?|months?|%|/|"
            r"am\b|pm\b))",
            text,
            re.IGNORECASE,
        )
        if m:
            found.append(Decimal(m[1]))
    return found


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
        r"monthly (payment|installment|bill)|(payment|installment|bill) due on the",
    ),
)


def extract_amount_keyword(text: str) -> str | None:
    t = text.lower()
    for name, pattern in AMOUNT_KEYWORDS:
        if re.search(pattern, t):
            return name
    return None


def extract_day_of_month(text: str) -> int | None:
    """A day of the month for a due-date change ("the 20th", "15", "the fifth")."""
    t = text.lower()
    if m := re.search(r"\b(\d{1,2})(?:st|nd|rd|th)\b", t):
        return int(m[1])
    for word, n in sorted(ORDINAL_WORDS.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{word}\b", t):
            return n
    if m := re.search(
        r"\b(?:to|on|day|it|be)\s+(\d{1,2})\b(?!\s*(?:dollars|bucks|days|%|/|:|"
        r"am\b|pm\b))",
        t,
    ):
        return int(m[1])
    if m := re.fullmatch(r"\s*(\d{1,2})\s*\.?\s*", t):
        return int(m[1])
    return None


def extract_loan_number(text: str) -> str | None:
    if m := re.search(
        r"\b(?:loan\s*(?:number|no\.?|#|id)?\s*:?\s*)?([a-z]{1,3}-?\d{3,10})\b", text, re.IGNORECASE
    ):
        candidate = m[1].upper()
        if re.fullmatch(r"[A-Z]{1,3}-?\d{3,10}", candidate):
            return candidate
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
    "calls": r"\b(calls?|calling|phone calls?|ring(ing)?|robocalls?|voicemails?)\b",
}


def extract_channels(text: str) -> list[str]:
    t = text.lower()
    return [name for name, pattern in CHANNELS.items() if re.search(pattern, t)]


_HOUR_RANGE = re.compile(
    r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?\s*(?:-|–|to|and|until|till|through)\s*"
    r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?(?!\s*(?:st|nd|rd|th|days?|/|\d))"
)
_CONTACT_WORDS = re.compile(
    r"\b(between|from|hours|only|call\w*|contact\w*|text\w*|reach\w*|"
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
    """ "between 9 and 5", "9am-5pm", "10:00 to 16:00", "mornings" → ``HH:MM-HH:MM``."""
    t = text.lower()
    if (m := _HOUR_RANGE.search(t)) and _CONTACT_WORDS.search(t):
        hours = _range_hours(int(m[1]), m[3], int(m[4]), m[6])
        if hours is not None:
            start, end = hours
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
    start_mer = start_mer or (end_mer if end_mer and start <= end else None)
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
