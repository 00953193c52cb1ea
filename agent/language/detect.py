"""Which language a customer message is written in: English, Chinese or Spanish.

A conversation has a language (kept on it; a customer may switch). Each message either
names a language clearly enough to switch to it, or keeps the conversation's:

- Chinese: Han characters. Mixed messages ("我的loan还欠多少") are Chinese when they hold
  at least two Han characters, the way such customers write.
- Spanish or English: ``lingua`` (its models ship with the package, nothing is
  downloaded), restricted to the languages we serve. A switch needs its confidence to
  clear a threshold that depends on how much text there is; "ok", "no", "L100" or a date
  of birth never switch, they keep the conversation's language.

Thresholds were chosen on our labelled data (tests/language/test_detect.py measures them
on the English intent and escalation sets and the Spanish sets: no English message of
those may switch a conversation to Spanish).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

SUPPORTED = ("en", "zh", "es")
DEFAULT = "en"
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese", "es": "Spanish"}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[^\W\d_]{2,}")
# Letters only Spanish among our languages writes.
_SPANISH_MARKS = re.compile(r"[ñ¿¡áéíóú]", re.IGNORECASE)
# How sure lingua must be, by the number of words of two letters or more.
_MIN_CONFIDENCE = {1: 0.8, 2: 0.7, 3: 0.7}
_MIN_CONFIDENCE_LONGER = 0.6


def is_supported(language: str | None) -> bool:
    return language in SUPPORTED


def han_count(text: str) -> int:
    return len(_HAN.findall(text))


@cache
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    return (
        LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.SPANISH)
        .with_preloaded_language_models()
        .build()
    )


def preload() -> None:
    """Load the models now (a server does it at start, not inside a customer's turn)."""
    _detector()


def spanish_confidence(text: str) -> float:
    """lingua's confidence that ``text`` is Spanish rather than English (0..1)."""
    from lingua import Language

    return float(_detector().compute_language_confidence(text, Language.SPANISH))


_SENTENCE_START = re.compile(r"(?:^|[.!?¡¿:;\n]\s*)([^\W\d_]+)")


def _words_that_tell(text: str) -> list[str]:
    """The words that say which language a message is in: not names. A capitalised word
    inside a sentence is a name ("my name is Maria Lopez", "L100 Maria Lopez 1988-04-12"):
    names are Spanish as often as English-speaking customers' are."""
    starts = {m.start(1) for m in _SENTENCE_START.finditer(text)}
    return [
        m.group()
        for m in _LATIN_WORD.finditer(text)
        if m.start() in starts or not m.group()[0].isupper() or m.group().isupper()
    ]


def detect_language(text: str, current: str = DEFAULT) -> str:
    """The language of ``text``; ``current`` (the conversation's) when the text does not
    say clearly (too short, numbers only, words common to both languages)."""
    current = current if is_supported(current) else DEFAULT
    text = unicodedata.normalize("NFKC", text or "")
    if han_count(text) >= 2:
        return "zh"
    words = _words_that_tell(text)
    if not words:
        return current
    spanish = spanish_confidence(" ".join(words))
    needed = _MIN_CONFIDENCE.get(len(words), _MIN_CONFIDENCE_LONGER)
    if _SPANISH_MARKS.search(text):
        needed = min(needed, 0.5)
    if spanish >= needed:
        return "es"
    # One English-looking word ("ok", "balance") is common in other languages' chats.
    if 1 - spanish >= (max(needed, 0.95) if len(words) == 1 else needed):
        return "en"
    return current
