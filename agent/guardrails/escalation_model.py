"""The trained escalation model: does this message need a person, and for which reason?

A multinomial logistic regression over two views of the text:

- the all-MiniLM-L6-v2 sentence embedding (meaning, whatever the words), and
- hashed TF-IDF word unigrams and bigrams (the words themselves: "validation",
  "credit report", "not mine"), which need no vocabulary file.

Classes are the escalation reasons plus ``none``; the score that decides whether a
person is needed is ``1 - P(none)``. A long message is scored as a whole and sentence by
sentence, and the highest score counts: one line of a pasted letter can carry the
reason, and a short message is scored exactly like a sentence of a long one (so the
model has no way to prefer long text).

The weights are trained by ``loan-agent train escalation`` (see
:mod:`agent.guardrails.escalation_training`) and committed with their sha256; the
threshold was chosen on a validation split, and the card beside the weights records
it with the test-split figures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

from agent.learning.artifacts import check_embedding_dimension, load_artifact

DEFAULT_ARTIFACT = Path(__file__).resolve().parent / "models" / "escalation.npz"
HASH_FEATURES = 2**16
CHAR_FEATURES = 2**16
EMBEDDING_WEIGHT = 1.0
NONE_LABEL = "none"
# A long message is also scored per sentence; a unit shorter than this carries too
# little to decide on its own.
MIN_SENTENCE_CHARS = 20
MAX_SENTENCES = 24


class Embedder(Protocol):
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


_VECTORIZER = HashingVectorizer(
    n_features=HASH_FEATURES,
    ngram_range=(1, 2),
    alternate_sign=False,
    norm=None,
    lowercase=True,
    token_pattern=r"(?u)\b\w+\b",
)
_CHARS = HashingVectorizer(
    n_features=CHAR_FEATURES,
    analyzer="char_wb",
    ngram_range=(3, 5),
    alternate_sign=False,
    norm=None,
    lowercase=True,
)
# "XXXX" is the CFPB's redaction mark; dates and amounts are noise for the decision.
_MASKS = (
    (re.compile(r"\bX{2,}(/X{2,})*\b", re.IGNORECASE), " "),
    (re.compile(r"\{\$[\d.,]+\}|\$\s?\d[\d,]*(\.\d+)?"), " amount "),
    (re.compile(r"\d+"), " 0 "),
)
_SENTENCES = re.compile(r"(?<=[.!?;])\s+|\n+")


def prepare(text: str) -> str:
    """The text as the model reads it: redaction marks dropped, numbers folded."""
    text = text.replace("\u2019", "'")
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return re.sub(r"\s+", " ", text).strip()


def sentences(text: str) -> list[str]:
    parts = [p.strip(" \t-•*\"'") for p in _SENTENCES.split(text)]
    return [p for p in parts if len(p) >= MIN_SENTENCE_CHARS][:MAX_SENTENCES]


def _counts(texts: Sequence[str]) -> sparse.csr_matrix:
    prepared = [prepare(t) for t in texts]
    words = _VECTORIZER.transform(prepared)
    chars = _CHARS.transform(prepared)
    return sparse.hstack([words, chars], format="csr").astype(np.float64)


def lexical_features(texts: Sequence[str], idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear TF-IDF of hashed word 1-2 grams and character 3-5 grams (typos), each
    block of each row scaled to unit length."""
    counts = _counts(texts)
    data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    is_word = counts.indices < HASH_FEATURES
    for row in range(counts.shape[0]):
        row_data = data[counts.indptr[row] : counts.indptr[row + 1]]  # a view
        row_words = is_word[counts.indptr[row] : counts.indptr[row + 1]]
        for block in (row_words, ~row_words):
            norm = float(np.sqrt(np.square(row_data[block]).sum()))
            if norm:
                row_data[block] /= norm
    return sparse.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)


def document_frequencies(texts: Sequence[str]) -> np.ndarray:
    counts = _counts(texts).tocsc()
    present = np.diff(counts.indptr)
    return np.log((1 + len(texts)) / (1 + present)) + 1.0


def combine(vectors: np.ndarray, lexical: sparse.csr_matrix) -> sparse.csr_matrix:
    dense = sparse.csr_matrix(np.asarray(vectors, dtype=np.float64) * EMBEDDING_WEIGHT)
    return sparse.hstack([dense, lexical], format="csr")


class Weights:
    """The fitted arrays, and class probabilities from them: one computation for the
    served model and for scoring during training."""

    def __init__(self, arrays: dict[str, np.ndarray], dimension: int) -> None:
        coef = np.asarray(arrays["coef"], dtype=np.float64)
        self.dense = np.ascontiguousarray(coef[:, :dimension].T)
        self.sparse = np.ascontiguousarray(coef[:, dimension:].T)
        self.intercept = np.asarray(arrays["intercept"], dtype=np.float64)
        self.idf = np.asarray(arrays["idf"], dtype=np.float64)

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        lexical = lexical_features(texts, self.idf)
        logits = (
            np.asarray(vectors, dtype=np.float64) * EMBEDDING_WEIGHT @ self.dense
            + np.asarray(lexical @ self.sparse)
            + self.intercept
        )
        logits -= logits.max(axis=1, keepdims=True)
        exponentials = np.exp(logits)
        return exponentials / exponentials.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class UnitScore:
    """The model's view of one unit (the whole message or one sentence)."""

    unit: str
    whole: bool
    probabilities: np.ndarray

    def needs_person(self, none_index: int) -> float:
        return float(1.0 - self.probabilities[none_index])


@dataclass(frozen=True)
class ModelVerdict:
    score: float  # 1 - P(none) of the deciding unit
    reason: str  # the reason of the unit surest of its reason
    reason_probability: float  # P(reason | a person is needed) in that unit
    unit: str
    whole: bool


class EscalationModel:
    def __init__(self, arrays: dict[str, np.ndarray], card: dict[str, Any], embedder: Embedder):
        self.card = card
        self.classes: list[str] = list(card["classes"])
        self.threshold: float = float(card["threshold"])
        self.sentence_threshold: float = float(card.get("sentence_threshold", self.threshold))
        self._weights = Weights(arrays, int(card["embedding_dimension"]))
        check_embedding_dimension(card, embedder, "escalation")
        self._embedder = embedder
        self._none = self.classes.index(NONE_LABEL)

    @classmethod
    def load(cls, embedder: Embedder, path: Path = DEFAULT_ARTIFACT) -> EscalationModel:
        arrays, card = load_artifact(path)
        return cls(arrays, card, embedder)

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.classes)))
        if vectors is None:
            vectors = self._embedder.embed(list(texts))
        return self._weights.probabilities(texts, vectors)

    def units(self, text: str) -> list[UnitScore]:
        """The whole message, and each sentence when there are two or more."""
        text = text.strip()
        parts = sentences(text)
        units = [text] + (parts if len(parts) >= 2 else [])
        rows = self.probabilities(units)
        return [
            UnitScore(unit, index == 0, row)
            for index, (unit, row) in enumerate(zip(units, rows, strict=True))
        ]

    def verdict(self, text: str) -> ModelVerdict | None:
        """When any unit is over its threshold: the highest needs-a-person score, with
        the reason of the unit that is surest of its reason: in a
        letter, the sentence that says what is wrong names the reason better than the
        whole or than the sentence that is merely most upset."""
        scored = [(unit, unit.needs_person(self._none)) for unit in self.units(text)]
        decided = any(
            score >= (self.threshold if unit.whole else self.sentence_threshold)
            for unit, score in scored
        )
        if not decided:
            return None
        # Once a person is needed, any unit at the whole-message threshold may name the
        # reason (the stricter sentence threshold guards the decision, not the reason).
        over = [(unit, score) for unit, score in scored if score >= self.threshold]

        def reason_of(unit: UnitScore) -> tuple[int, float]:
            reasons = unit.probabilities.copy()
            reasons[self._none] = -1.0
            index = int(reasons.argmax())
            return index, float(reasons[index] / max(1e-9, 1.0 - unit.probabilities[self._none]))

        surest, _ = max(over, key=lambda pair: reason_of(pair[0])[1])
        index, certainty = reason_of(surest)
        return ModelVerdict(
            max(score for _, score in over),
            self.classes[index],
            certainty,
            surest.unit,
            surest.whole,
        )
