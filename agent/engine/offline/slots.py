"""Slot extraction: amounts, dates, birth dates, ZIP codes, days of month, loan numbers,
phones and contact channels from informal customer text. Pure and deterministic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from agent.policy.calendar import add_months

MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "febuary": 2, "mar": 3, "march": 3,
    "apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8,
    "august": 8, "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11,
    "november": 11, "dec": 12, "december": 12,
}
WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5,
    "sat": 5, "sunday": 6, "sun": 6,
}
WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "twenty": 20, "thirty": 30, "a": 1, "an": 1, "a couple of": 2, "couple": 2,
    "few": 3, "a few": 3,
}
ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "twenty-first": 21, "twenty first": 21,
    "twenty-second": 22, "twenty second": 22, "twenty-third": 23, "twenty third": 23,
    "twenty-fourth": 24, "twenty fourth": 24, "twenty-fifth": 25, "twenty fifth": 25,
    "twenty-sixth": 26, "twenty sixth": 26, "twenty-seventh": 27, "twenty seventh": 27,
    "twenty-eighth": 28, "twenty eighth": 28, "twenty-ninth": 29, "twenty ninth": 29,
    "thirtieth": 30, "thirty-first": 31, "thirty first": 31,
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


def extract_date(text: str, today: date) -> FoundDate | None:
    """The first date meant as a future payment date (relative to ``today``)."""
    t = text.lower()
    # ISO 2026-03-13
    if m := re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", t):
        if d := _safe_date(int(m[1]), int(m[2]), int(m[3])):
            return FoundDate(d, m[0], True)
    # 5/22, 5/22/2026, 05-22
    if m := re.search(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b", t):
        month, day = int(m[1]), int(m[2])
        if m[3]:
            if d := _safe_date(_year(m[3]), month, day):
                return FoundDate(d, m[0], True)
        elif d := _next_on_or_after(today, month, day):
            return FoundDate(d, m[0])
    # May 22, May 22nd 2026, 22 May, 22nd of May
    if m := re.search(
        rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b", t
    ):
        month, day = MONTHS[m[1]], int(m[2])
        d = _safe_date(int(m[3]), month, day) if m[3] else _next_on_or_after(today, month, day)
        if d:
            return FoundDate(d, m[0], bool(m[3]))
    if m := re.search(
        rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b(?:,?\s+(\d{{4}}))?", t
    ):
        month, day = MONTHS[m[2]], int(m[1])
        d = _safe_date(int(m[3]), month, day) if m[3] else _next_on_or_after(today, month, day)
        if d:
            return FoundDate(d, m[0], bool(m[3]))
    # Friday the 29th / the 20th / on the 1st
    if m := re.search(rf"\b(?:({_WEEKDAY_RE})\s+)?the\s+(\d{{1,2}})(?:st|nd|rd|th)\b", t):
        if d := _next_day_of_month(today, int(m[2])):
            return FoundDate(d, m[0])
    if m := re.search(r"\bon\s+the\s+(" + "|".join(ORDINAL_WORDS) + r")\b", t):
        if d := _next_day_of_month(today, ORDINAL_WORDS[m[1]]):
            return FoundDate(d, m[0])
    if m := re.search(r"\b(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)?\b(?!\s*(?:dollars|bucks|%))",
                      t):
        if re.search(r"\bthe\s+\d{1,2}(st|nd|rd|th)\b", m[0]) or "on the" in m[0]:
            if d := _next_day_of_month(today, int(m[1])):
                return FoundDate(d, m[0])
    if re.search(r"\b(today|tonight|right now|now)\b", t) and not re.search(
        r"\b(owe|balance|due)\b.*\b(today|now)\b|\b(today|now)\b.*\b(owe|balance)\b", t
    ):
        if re.search(r"\b(pay|paying|send|promise)\b.*\b(today|tonight)\b", t):
            return FoundDate(today, "today")
    if re.search(r"\b(tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow)\b", t):
        return FoundDate(today + timedelta(days=1), "tomorrow")
    if m := re.search(r"\bday after tomorrow\b", t):
        return FoundDate(today + timedelta(days=2), m[0])
    if m := re.search(rf"\b(this|next|coming|on)?\s*({_WEEKDAY_RE})\b", t):
        qualifier = (m[1] or "").strip() or None
        return FoundDate(_weekday_date(today, WEEKDAYS[m[2]], qualifier), m[0].strip())
    if m := re.search(r"\bin\s+(\d{1,3}|" + "|".join(WORD_NUMBERS) + r")\s+(day|days|week|weeks"
                      r"|month|months)\b", t):
        n = int(m[1]) if m[1].isdigit() else WORD_NUMBERS[m[1]]
        unit = m[2]
        if unit.startswith("day"):
            return FoundDate(today + timedelta(days=n), m[0])
        if unit.startswith("week"):
            return FoundDate(today + timedelta(weeks=n), m[0])
        return FoundDate(add_months(today, n), m[0])
    if m := re.search(r"\bnext week\b", t):
        return FoundDate(today + timedelta(days=7 - today.weekday()), m[0])
    if m := re.search(r"\b(end of (the|this) month|month end)\b", t):
        nxt = add_months(date(today.year, today.month, 1), 1)
        return FoundDate(nxt - timedelta(days=1), m[0])
    if m := re.search(r"\bnext month\b", t):
        return FoundDate(add_months(today, 1), m[0])
    return None


def extract_birth_date(text: str) -> date | None:
    """A date of birth in any common form (it always carries a year)."""
    t = text.lower()
    if m := re.search(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", t):
        return _safe_date(int(m[1]), int(m[2]), int(m[3]))
    if m := re.search(r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})\b", t):
        a, b, y = int(m[1]), int(m[2]), _year(m[3])
        return _safe_date(y, a, b) or _safe_date(y, b, a)  # US month/day first
    if m := re.search(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}}|\d{{2}})\b",
                      t):
        return _safe_date(_year(m[3]), MONTHS[m[1]], int(m[2]))
    if m := re.search(
        rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\.?,?\s+(\d{{4}}|\d{{2}})\b", t
    ):
        return _safe_date(_year(m[3]), MONTHS[m[2]], int(m[1]))
    if m := re.search(r"\b(\d{2})(\d{2})(\d{4})\b", t):  # 04121988
        return _safe_date(int(m[3]), int(m[1]), int(m[2]))
    return None


def extract_postal_code(text: str) -> str | None:
    """A 5-digit ZIP code (ZIP+4 accepted), not part of a date, phone, card or amount."""
    cleaned = re.sub(r"\$\s?[\d,]+(\.\d+)?", " ", text)
    cleaned = re.sub(r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b", " ", cleaned)
    cleaned = re.sub(r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b", " ", cleaned)
    cleaned = re.sub(r"\+?\d[\d\s().-]{8,}\d", lambda m: m[0] if len(re.sub(r"\D", "", m[0])) in
                     (5, 9) else " ", cleaned)
    if m := re.search(r"\b(?:zip|postal|post code|zipcode|zip code)\D{0,12}(\d{5})(?:-\d{4})?\b",
                      cleaned, re.IGNORECASE):
        return m[1]
    candidates = re.findall(r"(?<![\d$.,])(\d{5})(?:-\d{4})?(?![\d,.]\d)", cleaned)
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
        m = re.search(r"\b(?:pay|paying|send|sending|promise|put down|make)\s+(?:you\s+)?"
                      r"(\d{2,6}(?:\.\d{1,2})?)\b(?!\s*(?:st|nd|rd|th|days?|weeks?|%))",
                      text, re.IGNORECASE)
        if m:
            found.append(Decimal(m[1]))
    return found


AMOUNT_KEYWORDS = (
    ("past_due", r"past[- ]?due|overdue|behind|missed (payment|installment)|what i missed|"
                 r"late amount|catch up|caught up|arrears"),
    ("payoff", r"pay ?off|payoff|full (balance|amount)|whole (balance|loan|thing|amount)|"
               r"entire (balance|loan)|everything i owe|close (out )?the loan|pay it all"),
    ("next_due", r"next (payment|installment|bill)|this month'?s (payment|installment)|"
                 r"upcoming (payment|installment)|regular payment|monthly payment"),
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
    if m := re.search(r"\b(?:to|on|day)\s+(\d{1,2})\b(?!\s*(?:dollars|bucks|days|%|/))", t):
        return int(m[1])
    if m := re.fullmatch(r"\s*(\d{1,2})\s*\.?\s*", t):
        return int(m[1])
    return None


def extract_loan_number(text: str) -> str | None:
    if m := re.search(r"\b(?:loan\s*(?:number|no\.?|#|id)?\s*:?\s*)?([a-z]{1,3}-?\d{3,10})\b",
                      text, re.IGNORECASE):
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


def extract_contact_hours(text: str) -> str | None:
    """"between 9 and 5", "9am-5pm", "after 6pm", "mornings" → ``HH:MM-HH:MM``."""
    t = text.lower()
    m = re.search(
        r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?\s*(?:-|to|and|until|till)\s*"
        r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", t)
    if m and re.search(r"\b(between|from|hours|only|call|contact|text|reach)\b", t):
        start = _to_24h(int(m[1]), m[3] or ("am" if int(m[1]) >= 7 and not m[6] else m[6]))
        end = _to_24h(int(m[4]), m[6] or ("pm" if int(m[4]) < 12 else None))
        if start is not None and end is not None and start < end:
            return f"{start:02d}:{int(m[2] or 0):02d}-{end:02d}:{int(m[5] or 0):02d}"
    if re.search(r"\bmornings?\b", t) and re.search(r"\b(only|call|contact|prefer)\b", t):
        return "08:00-12:00"
    if re.search(r"\bafternoons?\b", t) and re.search(r"\b(only|call|contact|prefer)\b", t):
        return "12:00-17:00"
    if re.search(r"\bevenings?\b", t) and re.search(r"\b(only|call|contact|prefer)\b", t):
        return "17:00-20:00"
    return None


def _to_24h(hour: int, meridiem: str | None) -> int | None:
    if hour > 23:
        return None
    if meridiem and meridiem.startswith("p") and hour < 12:
        return hour + 12
    if meridiem and meridiem.startswith("a") and hour == 12:
        return 0
    return hour
