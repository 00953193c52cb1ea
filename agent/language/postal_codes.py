"""ZIP codes in customer text (a 5-digit code, ZIP+4 accepted), not mistaken for a date,
a phone number, a card number or an amount."""

from __future__ import annotations

import re

from agent.language.phones import PHONE_RE

_CARD_LIKE = re.compile(r"\b\d{4}(?:[ -]\d{4}){2,3}\b|\b\d{9,}\b")


def extract_postal_code(text: str) -> str | None:
    """A 5-digit ZIP code (ZIP+4 accepted), not part of a date, phone, card or amount."""
    cleaned = re.sub(r"\$\s?[\d,]+(\.\d+)?", " ", text)
    cleaned = re.sub(r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b", " ", cleaned)
    cleaned = re.sub(r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b", " ", cleaned)
    cleaned = re.sub(r"\b\d{8}\b", " ", cleaned)  # 04121988
    cleaned = _CARD_LIKE.sub(" ", cleaned)
    cleaned = PHONE_RE.sub(" ", cleaned)
    if m := re.search(
        r"\b(?:zip|postal|post code|zipcode|zip code)\D{0,12}?(\d{5})(?:-\d{4})?\b",
        cleaned,
        re.IGNORECASE,
    ):
        return m[1]
    candidates = re.findall(r"(?<![\w$.,/-])(\d{5})(?:-\d{4})?(?![\d]|[,.]\d)", cleaned)
    return candidates[-1] if candidates else None
