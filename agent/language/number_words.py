"""Numbers written as words: "twenty five", "a hundred and fifty", "the ninth"."""

from __future__ import annotations

import re

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


ORDINAL_PATTERN = "|".join(sorted(ORDINAL_WORDS, key=len, reverse=True))
_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
UNIT_WORDS = {word: WORD_NUMBERS[word] for word in _UNITS}
TEEN_WORDS = {
    "zero": 0,
    **UNIT_WORDS,
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
TENS_WORDS = {
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


def ordinal_suffix(n: int) -> str:
    """ "st", "nd", "rd" or "th" after ``n``."""
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _two_digit_words(words: list[str]) -> int | None:
    """ "fifty", "twenty five", "fifteen" → 10..99."""
    if len(words) == 1 and (n := TEEN_WORDS.get(words[0], TENS_WORDS.get(words[0]))):
        return n if n >= 10 else None
    if len(words) == 2 and words[0] in TENS_WORDS and words[1] in UNIT_WORDS:
        return TENS_WORDS[words[0]] + UNIT_WORDS[words[1]]
    return None


def words_to_number(phrase: str) -> int | None:
    """ "a hundred and fifty" → 150, "seventy-five" → 75, "fifteen hundred" → 1500,
    "a grand" → 1000, "one fifty" → 150 (said for $150); None when not a number."""
    words = re.split(r"[\s-]+", phrase.lower().strip())
    if len(words) in (2, 3) and 1 <= TEEN_WORDS.get(words[0], 0) <= 19:
        rest = _two_digit_words(words[1:])
        if rest is not None and "and" not in words:
            return TEEN_WORDS[words[0]] * 100 + rest  # "one fifty", "twelve fifty"
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
        elif w in TEEN_WORDS:
            if prev in ("a", "unit", "teen") or (prev == "tens" and TEEN_WORDS[w] >= 10):
                return None
            current += TEEN_WORDS[w]
            prev = "unit" if TEEN_WORDS[w] < 10 else "teen"
        elif w in TENS_WORDS:
            if prev in ("a", "unit", "teen", "tens"):
                return None
            current += TENS_WORDS[w]
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
