"""Is a reply a yes to exactly what was proposed? The one confirmation rule.

A write (promise to pay, due-date change, deferral, fee waiver) happens only after a
reply that is an unambiguous yes to the proposal that was shown. ``confirmation_of``
reads a reply into one :class:`Answer`:

- ``yes``: a plain English yes ("yes", "yes please", "ok do it", "sure go ahead", "👍",
  "yep that's right"), with nothing below in it;
- ``changed``: the reply names another value than the proposal shows (a day, an amount,
  a date, a loan: "yes but the 15th", "ok for $100") or asks for something else
  ("instead", "the other loan"): the new value is a new proposal, never a write;
- ``question``: a "?" or a question ("how much", "what does that mean", "explain",
  "tell me first", "does it cost"): answer it, keep the proposal;
- ``conditional``: "if", "as long as", "only if", "provided": keep the proposal;
- ``hedged``: "but", "I guess", "maybe", "not sure", "I think so", "wait", "not yet":
  keep the proposal;
- ``no``: a decline ("no", "cancel", "don't", "I confirm nothing"): the proposal is
  withdrawn;
- ``unclear``: no English yes at all, or another language. Yes words of other languages
  ("sí", "oui", "是的", "好的", "ja") are deliberately *unclear*: the proposal was
  written in English, so a write waits for an English yes (or the widget's Yes button).

Every answer but ``yes`` writes nothing. Pure: no I/O, nothing above ``agent/language``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from agent.language.amounts import extract_amounts
from agent.language.dates import extract_date, extract_day_of_month
from agent.language.loan_numbers import canonical as canonical_loan
from agent.language.loan_numbers import loan_numbers_in
from agent.language.localized import LOCALIZED, canonical
from agent.language.normalize import normalize


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    QUESTION = "question"
    CONDITIONAL = "conditional"
    HEDGED = "hedged"
    CHANGED = "changed"
    UNCLEAR = "unclear"


# Answers after which the proposal stays pending (the next plain yes confirms it).
KEEPS_PROPOSAL = frozenset({Answer.QUESTION, Answer.CONDITIONAL, Answer.HEDGED, Answer.UNCLEAR})


@dataclass(frozen=True)
class Proposal:
    """The values a proposal showed the customer (what a yes may repeat, not change)."""

    loan_id: str | None = None
    amounts: tuple[Decimal, ...] = ()
    dates: tuple[date, ...] = ()
    day: int | None = None  # a due-date change's day of the month

    def dump(self) -> dict[str, Any]:
        """Plain JSON (it is kept with the pending proposal between turns)."""
        return {
            "loan_id": self.loan_id,
            "amounts": [f"{a:.2f}" for a in self.amounts],
            "dates": [d.isoformat() for d in self.dates],
            "day": self.day,
        }

    @classmethod
    def load(cls, raw: Any) -> Proposal:
        """From :meth:`dump`'s JSON; anything unreadable shows nothing (so any value
        named in a reply is a new one)."""
        if not isinstance(raw, dict):
            return cls()
        try:
            return cls(
                loan_id=str(raw["loan_id"]) if raw.get("loan_id") else None,
                amounts=tuple(Decimal(str(a)) for a in raw.get("amounts") or ()),
                dates=tuple(date.fromisoformat(str(d)) for d in raw.get("dates") or ()),
                day=int(raw["day"]) if raw.get("day") is not None else None,
            )
        except (ArithmeticError, TypeError, ValueError):
            return cls()


@dataclass(frozen=True)
class Confirmation:
    answer: Answer
    reason: str  # what decided it, in a few words (for the model, the audit, the tests)
    new_values: dict[str, str] = field(default_factory=dict)  # with ``changed``

    @property
    def confirms(self) -> bool:
        return self.answer is Answer.YES

    @property
    def keeps_proposal(self) -> bool:
        return self.answer in KEEPS_PROPOSAL


def _words(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])(?:" + "|".join(phrases) + r")(?![\w'])", re.IGNORECASE)


_YES = _words(
    r"y",
    r"ye+s+",
    r"yeah+",
    r"yea",
    r"yeh",
    r"yep+",
    r"yup+",
    r"ya",
    r"yah",
    r"yessir",
    r"o?k+",
    r"okay+",
    r"okey",
    r"sure",
    r"alright",
    r"all right",
    r"aight",
    r"fine",
    r"good",
    r"great",
    r"perfect",
    r"agreed?",
    r"(?:i )?confirm(?:ed)?",
    r"correct",
    r"right",
    r"exactly",
    r"absolutely",
    r"definitely",
    r"certainly",
    r"of course",
    r"ofc",
    r"please",
    r"do it",
    r"do that",
    r"go ahead",
    r"go for it",
    r"proceed",
    r"let'?s do (?:it|that)",
    r"sounds (?:good|great|fine)",
    r"(?:that )?works",
    r"deal",
    r"bet",
    r"set (?:it|that|this) up",
    r"make (?:the|that) change",
    r"will do",
    r"affirmative",
)
_YES_SYMBOLS = re.compile("[\U0001f44d\u2705\U0001f44c\u2714\u2611]")  # 👍 ✅ 👌 ✔ ☑
# Yes words of other languages, typed in Latin letters: unclear, never a yes.
_FOREIGN_YES = _words(
    r"si", r"oui", r"ja", r"jawohl", r"da", r"sim", r"hai", r"claro", r"vale", r"dale",
    r"bueno", r"shi", r"hao", r"evet", r"tak", r"certo", r"d'accord",
)  # fmt: skip
# Phrases with a "no" in them that are not a no.
_NOT_A_NO = _words(r"no problem", r"no worries", r"not a problem", r"no doubt")
_NO = _words(
    r"n",
    r"no+",
    r"nope",
    r"nah+",
    r"nay",
    r"not",
    r"don'?t",
    r"do not",
    r"never",
    r"cancel(?:led)?",
    r"stop",
    r"nothing",
    r"none",
    r"refuse",
    r"decline",
    r"forget (?:it|that)",
    r"never ?mind",
    r"nvm",
    r"rather not",
    r"changed my mind",
    r"wrong",
    r"incorrect",
)
_WAIT = _words(
    r"wait",
    r"hold on",
    r"hang on",
    r"not yet",
    r"not now",
    r"not right now",
    r"later",
    r"one (?:sec|second|moment|minute)",
    r"give me a (?:sec|second|moment|minute)",
    r"let me (?:think|check|see|look)",
    r"need to think",
    r"think about it",
    r"not so fast",
)
_HEDGE = _words(
    r"but",
    r"though",
    r"although",
    r"however",
    r"i guess",
    r"guess so",
    r"i suppose",
    r"suppose so",
    r"maybe",
    r"perhaps",
    r"probably",
    r"possibly",
    r"might",
    r"not (?:really |quite |totally |entirely )?sure",
    r"unsure",
    r"i think",
    r"think so",
    r"kind of",
    r"kinda",
    r"sort of",
    r"sorta",
    r"h+m+",
    r"u+m+",
    r"u+h+",
    r"idk",
    r"i don'?t know",
    r"dunno",
    r"whatever",
    r"not certain",
    r"if you say so",
    r"i hope",
)
_CONDITION = _words(
    r"if",
    r"as long as",
    r"so long as",
    r"provided",
    r"providing",
    r"assuming",
    r"unless",
    r"on (?:the )?condition",
    r"in case",
    r"depends",
    r"depending",
)
# Question phrasings without a "?": anywhere in the reply ...
_QUESTION_PHRASE = _words(
    r"how (?:much|many|long|does|do|did|is|are|would|will|can|could|come)",
    r"what(?:'s| is| are| does| do| did| would| will| about| if| happens| exactly)",
    r"whats",
    r"why",
    r"explain",
    r"explanation",
    r"tell me",
    r"clarify",
    r"remind me",
    r"wonder(?:ing)?",
    r"curious",
    r"i don'?t (?:understand|get it)",
    r"(?:does|would|will|is) (?:it|that|this|there) (?:cost|mean|affect|change|hurt|work|"
    r"count|cause|add|be|a|any)",
    r"do i (?:have|need|pay|get|still|owe)",
    r"any (?:fees?|charges?|costs?|interest|penalt(?:y|ies))",
    r"more (?:info|information|details)",
    r"what it means",
    r"what that means",
)
# ... and a question word opening the reply or one of its clauses.
_QUESTION_OPENER = re.compile(
    r"(?:^|[.,;:!]\s*|\b(?:and|so|then|but|ok|okay|yes|sure|alright)\s+)"
    r"(?:what|how|why|when|where|which|who|whose|"
    r"(?:is|are|was|were|does|doesn'?t|did|can|could|would|will|won'?t|should|shall|am)"
    r"\s+(?:i|you|we|they|it|that|this|there|my|the)|do\s+(?:i|you|we|they|my|the))\b",
    re.IGNORECASE | re.MULTILINE,
)
# "could you go ahead and set that up": a polite request, not a question (without "?").
_POLITE_REQUEST = re.compile(
    r"\b(?:can|could|would|will) you (?:please )?(?:go ahead|do (?:it|that|this)|"
    r"set (?:it|that|this) up|make (?:the|that) change|proceed|confirm)\b",
    re.IGNORECASE,
)
# Asking for something else than what was shown, without naming the value.
_CHANGE = _words(
    r"instead",
    r"rather than",
    r"different",
    r"another (?:day|date|amount|loan|one|installment|payment)",
    r"(?:the )?other (?:one|loan|account|day|date)",
    r"change (?:it|that|the (?:date|day|amount))",
    r"make it(?! (?:happen|so))",
    r"switch",
    r"move it",
    r"sooner",
    r"earlier",
)


def confirmation_of(
    text: str, shown: Proposal | None = None, today: date | None = None, language: str = "en"
) -> Confirmation:
    """What ``text``, a reply to a proposal that showed ``shown``, answers. ``today``
    lets dates in the reply ("yes, Friday") be compared with the proposal's. In Chinese or
    Spanish (``language``: the conversation's, in which the proposal was written) the
    reply's answer words and values are read through :func:`localized.canonical` by the
    same rule."""
    raw = _plain(text)
    if not raw:
        return Confirmation(Answer.UNCLEAR, "an empty reply")
    if language in LOCALIZED:
        raw = _plain(canonical(raw, language))
    elif _other_language(raw):
        return Confirmation(Answer.UNCLEAR, "not a yes in English")
    norm = _plain(normalize(raw))
    both = f"{raw}\n{norm}"  # a disqualifier in either form counts
    repeated = False
    if shown is not None:
        new, repeated = _named_values(raw, shown, today)
        if new:
            return Confirmation(Answer.CHANGED, "names another value", new)
    # "change it to the 20th" naming the 20th that was proposed asks for nothing else.
    if not repeated and _CHANGE.search(both):
        return Confirmation(Answer.CHANGED, "asks for something else")
    if "?" in raw or (_QUESTION_OPENER.search(both) and not _POLITE_REQUEST.search(both)):
        return Confirmation(Answer.QUESTION, "asks a question")
    if found := _QUESTION_PHRASE.search(both):
        return Confirmation(Answer.QUESTION, f'asks a question ("{found[0].lower()}")')
    if found := _CONDITION.search(both):
        return Confirmation(Answer.CONDITIONAL, f'sets a condition ("{found[0].lower()}")')
    if found := _WAIT.search(both):
        return Confirmation(Answer.HEDGED, f'not yet ("{found[0].lower()}")')
    if found := _HEDGE.search(both):
        return Confirmation(Answer.HEDGED, f'holds back ("{found[0].lower()}")')
    if found := _NO.search(_NOT_A_NO.sub(" ", both)):
        return Confirmation(Answer.NO, f'says no ("{found[0].lower()}")')
    if _YES.search(norm) or _YES_SYMBOLS.search(raw):
        return Confirmation(Answer.YES, "a plain yes")
    return Confirmation(Answer.UNCLEAR, "no plain yes")


def is_yes(text: str, language: str = "en") -> bool:
    """A plain yes, with no proposal to compare values with (an offer of a person)."""
    return confirmation_of(text, language=language).confirms


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.split())


def _other_language(text: str) -> bool:
    """Letters outside English's alphabet (accents, CJK, Cyrillic…) or a foreign yes."""
    if any(ord(ch) > 127 and unicodedata.category(ch).startswith("L") for ch in text):
        return True
    return bool(_FOREIGN_YES.search(text))


def _named_values(text: str, shown: Proposal, today: date | None) -> tuple[dict[str, str], bool]:
    """The values the reply names that the proposal did not show, and whether it names
    one that it did show."""
    new: dict[str, str] = {}
    same = False
    own = (shown.loan_id,) if shown.loan_id else ()
    for loan in loan_numbers_in(text, own):
        if shown.loan_id is not None and canonical_loan(loan) == canonical_loan(shown.loan_id):
            same = True
        else:
            new.setdefault("loan_id", loan)
    for amount in extract_amounts(text):
        if amount in shown.amounts:
            same = True
        else:
            new.setdefault("amount", f"{amount:.2f}")
    if shown.day is not None:
        day = extract_day_of_month(text)
        if day is None and today is not None and (found_date := extract_date(text, today)):
            day = found_date.value.day  # "yes, on Friday" names a day too
        if day is not None and day != shown.day:
            new["day_of_month"] = str(day)
        same = same or day == shown.day
    elif today is not None and (found := extract_date(text, today)) is not None:
        if any((found.value.month, found.value.day) == (d.month, d.day) for d in shown.dates):
            same = True
        else:
            new["date"] = found.value.isoformat()
    return new, same
