"""Escalation classifier: does a customer message need a person, and for which reason?

A hybrid of two deterministic steps, both driven by data in ``prompts/escalation/``:

1. a high-precision regular-expression lexicon (``lexicon.yaml``) over the normalised
   message (contractions expanded, known typos of key words corrected);
2. a small softmax-regression probe over sentence embeddings, trained at construction
   on example utterances per reason and on non-escalating look-alikes
   (``exemplars.yaml``); it proposes a reason when its probability is high enough and
   the message is not a near-copy of a routine example. Long messages are also split
   into sentences, so one line of a pasted letter can carry the reason.

The lexicon is precise and explains itself; the probe catches wordings the lexicon
does not know. The message is embedded once (plus its sentences when it is long), in
one call; the probe is a single matrix product.

``verification_failed`` is never produced here: it comes from the tools.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager, nullcontext
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
    source: str  # "lexicon" or "model"
    score: float
    detail: str
    sentence_only: bool = False  # a model vote on one sentence of a long message


@dataclass(frozen=True)
class Thresholds:
    """Acceptance of the embedding model's vote (chosen by 5-fold cross-validation over
    the exemplars and checked on the labelled set; see tests/guardrails/README.md).

    ``min_probability``: the model's probability of its best reason for a whole message;
    ``sentence_min_probability``: the same for one sentence of a long message (stricter:
    a letter has many sentences, each a chance of a false match);
    ``corroborate``: a model vote is added to lexicon hits only at or above this;
    ``routine_similarity``: a message this close to a non-escalating exemplar is not
    escalated by the model (the lexicon still applies);
    ``min_nearest_similarity``: a model vote needs at least one example of its reason this
    close (a linear probe extrapolates confidently far from its training examples).
    """

    min_probability: float = 0.6
    sentence_min_probability: float = 0.7
    corroborate: float = 0.85
    routine_similarity: float = 0.9
    min_nearest_similarity: float = 0.45


@dataclass(frozen=True)
class ProbeSettings:
    """A softmax-regression probe over the sentence embeddings, trained on the exemplars
    at construction (deterministic: zero start, full-batch gradient descent)."""

    l2: float = 1e-4
    iterations: int = 300
    learning_rate: float = 1.0
    momentum: float = 0.9


def train_probe(
    features: np.ndarray, targets: np.ndarray, classes: int, settings: ProbeSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and biases of a class-balanced multinomial logistic regression."""
    with _single_thread_blas():
        return _train_probe(features.astype(np.float64), targets, classes, settings)


def _single_thread_blas() -> AbstractContextManager[object]:
    """Small matrices: BLAS threads only add contention (17x slower on a busy machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _train_probe(
    features: np.ndarray, targets: np.ndarray, classes: int, settings: ProbeSettings
) -> tuple[np.ndarray, np.ndarray]:
    count, dimension = features.shape
    weights = np.zeros((dimension, classes))
    biases = np.zeros(classes)
    velocity_w = np.zeros_like(weights)
    velocity_b = np.zeros_like(biases)
    one_hot = np.eye(classes)[targets]
    frequency = np.bincount(targets, minlength=classes).astype(np.float64)
    sample_weight = (count / (classes * np.maximum(frequency, 1.0)))[targets][:, None]
    for _ in range(settings.iterations):
        probabilities = softmax(features @ weights + biases)
        gradient = (probabilities - one_hot) * sample_weight / count
        velocity_w = settings.momentum * velocity_w + features.T @ gradient + settings.l2 * weights
        velocity_b = settings.momentum * velocity_b + gradient.sum(axis=0)
        weights -= settings.learning_rate * velocity_w
        biases -= settings.learning_rate * velocity_b
    return weights, biases


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


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
        probe: ProbeSettings | None = None,
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
        self.classes: list[str] = [r.value for r in PRECEDENCE] + [NONE_LABEL]
        self._targets = np.array([self.classes.index(e.label) for e in self.exemplars])
        self._probe_settings = probe or ProbeSettings()
        self._matrix: np.ndarray | None = None
        self._weights: np.ndarray | None = None
        self._biases: np.ndarray | None = None
        if embedder is not None:
            self._matrix = np.asarray(
                embedder.embed([e.text for e in self.exemplars]), dtype=np.float64
            )
            self._weights, self._biases = train_probe(
                self._matrix, self._targets, len(self.classes), self._probe_settings
            )

    # -- public --

    def classify(self, text: str) -> EscalationVerdict | None:
        if not text or not text.strip():
            return None
        hits, negated = self._lexicon(text)
        model = self._model_hits(text, have_lexicon=bool(hits))
        # A reason the lexicon saw negated or excused ("I don't need a person", "I'm not
        # suicidal", "working again") is not taken from the model's vote alone.
        hits.extend(h for h in model if h.reason not in negated)
        return self._decide(hits)

    def lexicon_hits(self, text: str) -> list[_Hit]:
        return self._lexicon(text)[0]

    def _lexicon(self, text: str) -> tuple[list[_Hit], set[EscalationReason]]:
        """Lexicon hits, and the reasons whose `unless` or `veto` patterns matched."""
        normalized = normalize_for_lexicon(text, self._typos)
        hits: list[_Hit] = []
        negated: set[EscalationReason] = set()
        for group in self._groups:
            if any(v.search(normalized) for v in group.veto):
                negated.add(group.reason)
                continue
            vetoes = [m.span() for u in group.unless for m in u.finditer(normalized)]
            if vetoes:
                negated.add(group.reason)
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
        return hits, negated

    def model_view(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(class probabilities, cosine similarities to every exemplar) per row."""
        if self._weights is None or self._biases is None or self._matrix is None:
            raise RuntimeError("the classifier was built without an embedder")
        vectors = np.asarray(vectors, dtype=np.float64)
        return softmax(vectors @ self._weights + self._biases), vectors @ self._matrix.T

    # -- internals --

    def _model_hits(self, text: str, *, have_lexicon: bool) -> list[_Hit]:
        """The model's vote on the whole message; for a long message in which nothing
        else fired, also its votes on single sentences (a second, batched call)."""
        if self._embedder is None:
            return []
        whole = self._votes([text.strip()], have_lexicon=have_lexicon, sentences=False)
        if whole or have_lexicon or len(text) <= self._long:
            return whole
        sentences = split_sentences(text)
        if len(sentences) < 2:
            return []
        return self._votes(sentences, have_lexicon=False, sentences=True)

    def _votes(self, units: list[str], *, have_lexicon: bool, sentences: bool) -> list[_Hit]:
        probabilities, similarities = self.model_view(self._embedder.embed(units))  # type: ignore[union-attr]
        none_mask = self._targets == self.classes.index(NONE_LABEL)
        t = self.thresholds
        floor = t.sentence_min_probability if sentences else t.min_probability
        if have_lexicon:
            floor = max(floor, t.corroborate)
        hits: list[_Hit] = []
        for unit, row, sims in zip(units, probabilities, similarities, strict=True):
            best = int(row.argmax())
            label = self.classes[best]
            if label == NONE_LABEL or row[best] < floor:
                continue
            if sims[none_mask].max() >= t.routine_similarity:
                continue
            own = np.where(self._targets == best, sims, -2.0)
            if own.max() < t.min_nearest_similarity:
                continue  # far from every example of that reason: the probe is guessing
            nearest = self.exemplars[int(own.argmax())]
            where = f"sentence {unit[:60]!r}" if sentences else "message"
            hits.append(
                _Hit(
                    EscalationReason(label),
                    nearest.tag,
                    "model",
                    float(row[best]),
                    f"{where}; nearest example {nearest.text!r} ({own.max():.2f})",
                    sentence_only=sentences,
                )
            )
        return hits

    def _decide(self, hits: list[_Hit]) -> EscalationVerdict | None:
        if not hits:
            return None
        # Votes on single sentences of a long message are a fallback for letters whose
        # whole-message embedding is diluted: they count only when nothing else fired,
        # and then the most probable one wins (one weak sentence must not outrank).
        primary = [h for h in hits if not h.sentence_only]
        if primary:
            reason = next(r for r in PRECEDENCE if any(h.reason == r for h in primary))
        else:
            reason = max(hits, key=lambda h: h.score).reason
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

    def cross_validate(
        self, folds: int = 5, settings: ProbeSettings | None = None
    ) -> list[tuple[str, np.ndarray]]:
        """(true label, held-out class probabilities) for every exemplar, k-fold.

        Only the embedding model: used to choose ``Thresholds`` and ``ProbeSettings``
        without touching the labelled test sets.
        """
        if self._matrix is None:
            return []
        settings = settings or self._probe_settings
        fold_of = np.arange(len(self.exemplars)) % folds
        probabilities = np.zeros((len(self.exemplars), len(self.classes)))
        for fold in range(folds):
            train = fold_of != fold
            weights, biases = train_probe(
                self._matrix[train], self._targets[train], len(self.classes), settings
            )
            probabilities[~train] = softmax(self._matrix[~train] @ weights + biases)
        return [(e.label, p) for e, p in zip(self.exemplars, probabilities, strict=True)]
