"""Contact preferences in customer text: the channels named (texts, e-mails, calls) and
the hours a customer may be contacted ("between 9 and 5", "after 6pm", "mornings")."""

from __future__ import annotations

import re

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
