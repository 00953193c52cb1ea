"""Escalation classifier: does a customer message need a person, and for which reason?

A hybrid of two deterministic steps, both driven by data in ``prompts/escalation/``:

1. a high-precision regular-expression lexicon (``lexicon.yaml``) over the normalised
   message (contractions expanded, known typos of key words corrected);
2. nearest neighbours in sentence-embedding space against example utterances per
   reason and against non-escalating look-alikes (``exemplars.yaml``): a reason is
   proposed when its best exemplars are close enough *and* closer than the best
   non-escalating ones. Long messages are also split into sentences, so one line of
   a pasted letter can carry the reason.

The message is embedded once (plus its sentences when it is long), in one call.

``verification_failed`` is never produced here: it comes from the tools.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml

from agent.policy.config import EscalationReason, PolicyConfig, Priority

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "prompts" / "escalation"

CRISIS_LINE = "crisis_line"
STOP_DEBT_DISCUSSION = "stop_debt_discussion"

# One reason per message, by precedence (first wins):
#   vulnerability  — a person at risk comes before anything about the debt; a message
#                    with suicidal content and a request for a person is vulnerability;
#   legal          — attorney / bankruptcy / court / regulator: the debt discussion stops;
#   fraud          — the loan may not be theirs: nothing else about it is settled yet;
#   dispute        — whether the amount is owed comes before how to pay it;
#   hardship       — ability to pay;
#   complaint      — about treatment; more specific than a bare request for a person;
#   human_request  — the fallback when the customer only asks for a person.
PRECEDENCE: tuple[EscalationReason, ...] = (
    EscalationReason.VULNERABILITY,
    EscalationReason.LEGAL,
    EscalationReason.FRAUD,
    EscalationReason.DISPUTE,
    EscalationReason.HARDSHIP,
    EscalationReason.COMPLAINT,
    EscalationReason.HUMAN_REQUEST,
)
NONE_LABEL = "none"


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class EscalationVerdict:
    reason: EscalationReason
    priority: Priority
    confidence: float
    evidence: list[str] = field(default_factory=list)
    first_response: str | None = None
    tag: str | None = None  # the group within the reason (e.g. "self_harm", "attorney")


@dataclass(frozen=True)
class _Group:
    reason: EscalationReason
    tag: str
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...]
    veto: tuple[re.Pattern[str], ...]
    first_response: str | None


@dataclass(frozen=True)
class _Hit:
    reason: EscalationReason
    tag: str
    source: str  # "lexicon" or "neighbours"
    score: float
    detail: str


@dataclass(frozen=True)
class Thresholds:
    """Nearest-neighbour acceptance, tuned by leave-one-out over the exemplars.

    ``min_similarity``: cosine similarity of the best exemplar of the reason;
    ``margin``: how much closer than the best non-escalating exemplar;
    ``sentence_*``: the same for single sentences of a long message (stricter: a letter
    has many sentences, each a chance of a false match);
    ``corroborate``: a neighbour vote is added to lexicon hits only above this.
    """

    min_similarity: float = 0.62
    margin: float = 0.06
    sentence_min_similarity: float = 0.68
    sentence_margin: float = 0.08
    corroborate: float = 0.78


# --- normalisation ----------------------------------------------------------------

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


def _damerau(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, stopping early once above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous_previous, previous = previous, current
    return previous[-1]


class _TypoFixer:
    def __init__(self, targets: list[str], exceptions: list[str]) -> None:
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
            if _damerau(token, target, limit) <= limit:
                return target
        return token

    def __call__(self, text: str) -> str:
        return re.sub(r"[a-z]+", lambda m: self.fix(m.group()), text)


def normalize_for_lexicon(text: str, typo_fixer: _TypoFixer | None = None) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    text = text.replace("'", "")
    text = re.sub(r"\s+", " ", text).strip()
    return typo_fixer(text) if typo_fixer else text


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+|\s+(?=but\s)|,\s+(?=(?:and|but|so)\s)")


def split_sentences(text: str, max_sentences: int = 24) -> list[str]:
    parts = [p.strip(" \t-•*") for p in _SENTENCE_SPLIT.split(text)]
    parts = [p for p in parts if len(p) >= 12]
    return parts[:max_sentences]


# --- loading ----------------------------------------------------------------------


def _expand(pattern: str, macros: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return re.sub(r"\s+", "", macros[name]) if name in macros else match.group()

    return re.sub(r"\{([A-Z_]+)\}", replace, pattern)


def _load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data


def load_lexicon(path: Path) -> tuple[list[_Group], _TypoFixer]:
    data = _load_yaml(path)
    macros = {k: str(v) for k, v in (data.get("macros") or {}).items()}
    groups: list[_Group] = []
    for reason_name, reason_groups in data["reasons"].items():
        reason = EscalationReason(reason_name)
        for group in reason_groups:
            groups.append(
                _Group(
                    reason=reason,
                    tag=group["tag"],
                    patterns=tuple(re.compile(_expand(p, macros)) for p in group["patterns"]),
                    unless=tuple(re.compile(_expand(p, macros)) for p in group.get("unless", [])),
                    veto=tuple(re.compile(_expand(p, macros)) for p in group.get("veto", [])),
                    first_response=group.get("first_response"),
                )
            )
    fixer = _TypoFixer(data.get("typo_targets", []), data.get("typo_exceptions", []))
    return groups, fixer


@dataclass(frozen=True)
class Exemplar:
    label: str  # an EscalationReason value or "none"
    tag: str
    text: str


def load_exemplars(path: Path) -> list[Exemplar]:
    data = _load_yaml(path)
    items: list[Exemplar] = []
    for reason_name, groups in data["reasons"].items():
        label = EscalationReason(reason_name).value
        for tag, texts in groups.items():
            items.extend(Exemplar(label, tag, t) for t in texts)
    for tag, texts in data["none"].items():
        items.extend(Exemplar(NONE_LABEL, tag, t) for t in texts)
    return items


# --- the classifier ---------------------------------------------------------------


class EscalationClassifier:
    """Decides whether a customer message is escalated, and with which single reason."""

    def __init__(
        self,
        embedder: Embedder | None,
        policy: PolicyConfig,
        data_dir: Path | str = DEFAULT_DATA_DIR,
        thresholds: Thresholds | None = None,
        long_message_chars: int = 160,
    ) -> None:
        data_dir = Path(data_dir)
        self._policy = policy
        self._embedder = embedder
        self.thresholds = thresholds or Thresholds()
        self._long = long_message_chars
        self._groups, self._typos = load_lexicon(data_dir / "lexicon.yaml")
        self._first_response = {
            (g.reason.value, g.tag): g.first_response for g in self._groups if g.first_response
        }
        self.exemplars = load_exemplars(data_dir / "exemplars.yaml")
        self._labels = np.array([e.label for e in self.exemplars])
        self._label_names = [r.value for r in PRECEDENCE] + [NONE_LABEL]
        self._label_masks = {name: self._labels == name for name in self._label_names}
        self._matrix = (
            embedder.embed([e.text for e in self.exemplars]) if embedder is not None else None
        )

    # -- public --

    def classify(self, text: str) -> EscalationVerdict | None:
        if not text or not text.strip():
            return None
        hits = self.lexicon_hits(text)
        hits.extend(self._neighbour_hits(text, have_lexicon=bool(hits)))
        return self._decide(hits)

    def lexicon_hits(self, text: str) -> list[_Hit]:
        normalized = normalize_for_lexicon(text, self._typos)
        hits: list[_Hit] = []
        for group in self._groups:
            if any(v.search(normalized) for v in group.veto):
                continue
            vetoes = [m.span() for u in group.unless for m in u.finditer(normalized)]
            for pattern in group.patterns:
                match = next(
                    (
                        m
                        for m in pattern.finditer(normalized)
                        if not any(a <= m.start() < b for a, b in vetoes)
                    ),
                    None,
                )
                if match:
                    hits.append(_Hit(group.reason, group.tag, "lexicon", 0.9, match.group()))
                    break
        return hits

    def neighbour_scores(self, texts: list[str]) -> list[dict[str, tuple[float, int]]]:
        """Per text: label -> (best similarity, index of that exemplar)."""
        if self._embedder is None or self._matrix is None or not texts:
            return [{} for _ in texts]
        similarities = self._embedder.embed(texts) @ self._matrix.T
        return [self._best_by_label(row) for row in similarities]

    # -- internals --

    def _best_by_label(
        self, row: np.ndarray, exclude: int | None = None
    ) -> dict[str, tuple[float, int]]:
        if exclude is not None:
            row = row.copy()
            row[exclude] = -1.0
        best: dict[str, tuple[float, int]] = {}
        for name, mask in self._label_masks.items():
            if mask.any():
                masked = np.where(mask, row, -2.0)
                index = int(masked.argmax())
                best[name] = (float(masked[index]), index)
        return best

    def _vote(
        self, scores: dict[str, tuple[float, int]], min_similarity: float, margin: float
    ) -> tuple[str, float, int] | None:
        none_score = scores.get(NONE_LABEL, (-1.0, -1))[0]
        reasons = [(name, *scores[name]) for name in scores if name != NONE_LABEL]
        if not reasons:
            return None
        name, score, index = max(reasons, key=lambda r: r[1])
        if score >= min_similarity and score - none_score >= margin:
            return name, score, index
        return None

    def _neighbour_hits(self, text: str, *, have_lexicon: bool) -> list[_Hit]:
        if self._embedder is None:
            return []
        units = [text.strip()]
        sentences = split_sentences(text) if len(text) > self._long else []
        if len(sentences) > 1:
            units.extend(sentences)
        all_scores = self.neighbour_scores(units)
        t = self.thresholds
        hits: list[_Hit] = []
        for position, scores in enumerate(all_scores):
            whole = position == 0
            vote = self._vote(
                scores,
                t.min_similarity if whole else t.sentence_min_similarity,
                t.margin if whole else t.sentence_margin,
            )
            if vote is None:
                continue
            name, score, index = vote
            if have_lexicon and score < t.corroborate:
                continue
            exemplar = self.exemplars[index]
            where = "message" if whole else f"sentence {units[position][:60]!r}"
            hits.append(
                _Hit(
                    EscalationReason(name),
                    exemplar.tag,
                    "neighbours",
                    score,
                    f"{where} ~ {exemplar.text!r}",
                )
            )
        return hits

    def _decide(self, hits: list[_Hit]) -> EscalationVerdict | None:
        if not hits:
            return None
        reason = next(r for r in PRECEDENCE if any(h.reason == r for h in hits))
        chosen = [h for h in hits if h.reason == reason]
        sources = {h.source for h in chosen}
        best = max(h.score for h in chosen)
        confidence = min(0.99, best + 0.05) if len(sources) == 2 else best
        tags = [h.tag for h in chosen]
        first_response = next(
            (
                self._first_response[(reason.value, tag)]
                for tag in tags
                if (reason.value, tag) in self._first_response
            ),
            None,
        )
        # A crisis line is never lost to another tag of the same reason.
        if reason == EscalationReason.VULNERABILITY and "self_harm" in tags:
            first_response = CRISIS_LINE
        tag = next(
            (t for t in tags if self._first_response.get((reason.value, t)) == first_response),
            tags[0],
        )
        evidence = [
            f"{h.source} {h.reason.value}/{h.tag} ({h.score:.2f}): {h.detail}"
            for h in sorted(hits, key=lambda h: (PRECEDENCE.index(h.reason), -h.score))
        ]
        return EscalationVerdict(
            reason=reason,
            priority=self._policy.priority_for(reason),
            confidence=round(confidence, 3),
            evidence=evidence,
            first_response=first_response,
            tag=tag,
        )

    # -- tuning support --

    def leave_one_out(self, thresholds: Thresholds | None = None) -> list[tuple[str, str | None]]:
        """(true label, predicted label or None) for every exemplar with itself held out.

        Only the nearest-neighbour step: used to tune ``Thresholds`` without touching
        the labelled test set.
        """
        if self._matrix is None:
            return []
        t = thresholds or self.thresholds
        similarities = self._matrix @ self._matrix.T
        results: list[tuple[str, str | None]] = []
        for index, exemplar in enumerate(self.exemplars):
            scores = self._best_by_label(similarities[index], exclude=index)
            vote = self._vote(scores, t.min_similarity, t.margin)
            results.append((exemplar.label, vote[0] if vote else None))
        return results
