"""Edit distance between words, and a corrector of known key words' typos.

The distance is the optimal-string-alignment variant of Damerau-Levenshtein (a
transposition counts once: "paymnet" is one edit from "payment"), computed by
``rapidfuzz``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz.distance import OSA


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """The distance between ``a`` and ``b`` (transpositions count once), capped at ``limit``."""
    return min(OSA.distance(a, b, score_cutoff=limit), limit)


def within_distance(a: str, b: str, limit: int) -> bool:
    """``a`` is at most ``limit`` edits from ``b``."""
    return OSA.distance(a, b, score_cutoff=limit) <= limit


class TypoFixer:
    """Replaces a word of five letters or more that is one edit (two for a target of ten
    letters or more) from a target word by that word: "attorny" → "attorney". Words
    listed as exceptions, and the targets themselves, are left alone."""

    def __init__(self, targets: Iterable[str], exceptions: Iterable[str]) -> None:
        self._targets = tuple(t.lower() for t in targets)
        self._exceptions = frozenset(e.lower() for e in exceptions) | frozenset(self._targets)
        self.fix = lru_cache(maxsize=8192)(self._fix)

    def _fix(self, token: str) -> str:
        if len(token) < 5 or token in self._exceptions or not token.isalpha():
            return token
        for target in self._targets:
            limit = 2 if len(target) >= 10 else 1
            if abs(len(token) - len(target)) > limit or (
                token[0] != target[0] and token[1] != target[1]
            ):
                continue
            if within_distance(token, target, limit):
                return target
        return token

    def __call__(self, text: str) -> str:
        """``text`` (lower case) with each known typo replaced."""
        return re.sub(r"[a-z]+", lambda m: self.fix(m.group()), text)
