"""A small text classifier for languages the MiniLM embedding does not read (issue #13).

One mechanism, shared by the per-language escalation and intent models: a multinomial
logistic regression over hashed n-grams, needing no tokenizer, word segmentation or
vocabulary file.

- The text is normalised (NFKC, lower case, punctuation to spaces) and numbers are
  folded (every run of digits becomes ``0``), so amounts and dates are not learnt.
- Blocks of hashed counts (scikit-learn's ``HashingVectorizer``): character n-grams of
  the text as written, character n-grams with accents folded (``"préstamo"`` and
  ``"prestamo"`` alike), word unigrams and bigrams; which blocks, per language, is the
  :class:`FeatureSpec` in the card.
- Sublinear TF-IDF (``1 + log(count)`` times the idf of the training set), each block
  of a row scaled to unit length. N-grams never seen in training count towards the
  length with the idf of an unseen n-gram, as they did not exist for the model.

Only the n-grams seen in training are stored (their hashed index, idf and weights): the
weights of the others are exactly zero under L2 regularisation. Serving is numpy over
the few n-grams of the message (a short message costs a fraction of a millisecond).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression

from agent.learning.artifacts import ArtifactError, load_artifact, save_artifact

N_FEATURES = 2**20
_DIGITS = re.compile(r"\d+")
_PUNCTUATION = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


def fold_accents(text: str) -> str:
    """``"préstamo, año"`` → ``"prestamo, ano"`` (combining marks dropped)."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def prepare(text: str) -> str:
    """The text as the model reads it: NFKC (full-width forms to ASCII), lower case,
    every number ``0``, punctuation to spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _DIGITS.sub("0", text)
    text = _PUNCTUATION.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class FeatureSpec:
    """Which n-grams a model reads (written to its card, read back at load)."""

    chars: tuple[int, int] = (1, 3)  # character n-gram lengths
    analyzer: str = "char_wb"  # "char_wb" (within words, padded) or "char"
    accents: str = "keep"  # character n-grams of the text "keep" / "fold" / "both"
    words: bool = False  # also word unigrams and bigrams (accents folded)
    n_features: int = N_FEATURES  # hashed columns per block

    def as_card(self) -> dict[str, Any]:
        return {**asdict(self), "chars": list(self.chars)}

    @classmethod
    def from_card(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(
            chars=(int(data["chars"][0]), int(data["chars"][1])),
            analyzer=str(data["analyzer"]),
            accents=str(data["accents"]),
            words=bool(data["words"]),
            n_features=int(data["n_features"]),
        )

    def describe(self) -> str:
        views = {"keep": "as written", "fold": "accents folded", "both": "as written + folded"}
        text = f"{self.analyzer} {self.chars[0]}-{self.chars[1]} ({views[self.accents]})"
        return text + (" + words 1-2" if self.words else "")


class Featurizer:
    """Hashed counts of the blocks of a :class:`FeatureSpec`; block ``k`` occupies the
    columns ``k * n_features ... (k + 1) * n_features - 1``."""

    def __init__(self, spec: FeatureSpec) -> None:
        if spec.accents not in ("keep", "fold", "both") or spec.analyzer not in ("char", "char_wb"):
            raise ValueError(f"unknown feature spec {spec}")
        self.spec = spec
        chars = HashingVectorizer(
            n_features=spec.n_features,
            analyzer=spec.analyzer,
            ngram_range=spec.chars,
            alternate_sign=False,
            norm=None,
            lowercase=False,
        )
        words = HashingVectorizer(
            n_features=spec.n_features,
            analyzer="word",
            ngram_range=(1, 2),
            token_pattern=r"(?u)\b\w+\b",
            alternate_sign=False,
            norm=None,
            lowercase=False,
        )
        self._blocks: list[tuple[HashingVectorizer, bool]] = []  # (vectorizer, folded)
        if spec.accents in ("keep", "both"):
            self._blocks.append((chars, False))
        if spec.accents in ("fold", "both"):
            self._blocks.append((chars, True))
        if spec.words:
            self._blocks.append((words, True))

    @property
    def blocks(self) -> int:
        return len(self._blocks)

    def counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        prepared = [prepare(t) for t in texts]
        folded = [fold_accents(t) for t in prepared] if any(f for _, f in self._blocks) else []
        parts = [
            vectorizer.transform(folded if fold else prepared) for vectorizer, fold in self._blocks
        ]
        matrix = parts[0] if len(parts) == 1 else sparse.hstack(parts, format="csr")
        matrix = sparse.csr_matrix(matrix, dtype=np.float64)
        matrix.sort_indices()
        return matrix


def weigh(
    counts: sparse.csr_matrix,
    vocabulary: np.ndarray,
    idf: np.ndarray,
    unseen_idf: float,
    n_features: int,
    blocks: int,
) -> sparse.csr_matrix:
    """Sublinear TF-IDF over the known n-grams, each block of a row of unit length (the
    unknown n-grams count towards the length, with ``unseen_idf``)."""
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    columns = counts.indices
    position = np.minimum(np.searchsorted(vocabulary, columns), len(vocabulary) - 1)
    known = vocabulary[position] == columns
    weight = (1.0 + np.log(counts.data)) * np.where(known, idf[position], unseen_idf)
    group = rows * blocks + columns // n_features
    norms = np.sqrt(np.bincount(group, weight**2, minlength=counts.shape[0] * blocks))
    weight = weight / np.maximum(norms[group], 1e-12)
    return sparse.csr_matrix(
        (weight[known], (rows[known], position[known])),
        shape=(counts.shape[0], len(vocabulary)),
    )


def fit(
    texts: Sequence[str],
    labels: Sequence[str],
    classes: Sequence[str],
    spec: FeatureSpec,
    *,
    c: float,
    seed: int,
    class_weight: str | None = None,
) -> dict[str, np.ndarray]:
    """The artifact's arrays: ``vocabulary`` (hashed column of each n-gram seen in
    training, sorted), its ``idf``, ``coef`` (n-grams x classes), ``intercept`` and
    ``unseen_idf``."""
    missing = set(classes) - set(labels)
    if missing:
        raise ValueError(f"no training item for {sorted(missing)}")
    featurizer = Featurizer(spec)
    counts = featurizer.counts(texts)
    vocabulary = np.unique(counts.indices).astype(np.int64)
    frequency = np.bincount(np.searchsorted(vocabulary, counts.indices), minlength=len(vocabulary))
    n = len(texts)
    # float32 as stored, so that training scores exactly what is served
    idf = (np.log((1.0 + n) / (1.0 + frequency)) + 1.0).astype(np.float32)
    unseen_idf = np.float32(np.log(1.0 + n) + 1.0)
    features = weigh(
        counts,
        vocabulary,
        idf.astype(np.float64),
        float(unseen_idf),
        spec.n_features,
        featurizer.blocks,
    )
    targets = np.array([list(classes).index(label) for label in labels])
    model = LogisticRegression(
        C=c, solver="lbfgs", max_iter=5000, tol=1e-6, random_state=seed, class_weight=class_weight
    )
    model.fit(features, targets)
    coef, intercept = model.coef_, model.intercept_
    if len(classes) == 2:  # sigmoid(w.x + b) is the softmax of the logits (0, w.x + b)
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.r_[0.0, intercept]
    return {
        "vocabulary": vocabulary,
        "idf": idf,
        "unseen_idf": np.array([unseen_idf], dtype=np.float32),
        "coef": np.ascontiguousarray(coef.T.astype(np.float32)),
        "intercept": np.asarray(intercept, dtype=np.float32),
    }


class NgramClassifier:
    """Class probabilities from the stored arrays: one computation for the served
    models and for scoring during training."""

    def __init__(self, arrays: dict[str, np.ndarray], card: dict[str, Any]) -> None:
        self.card = card
        self.classes: list[str] = list(card["classes"])
        self.spec = FeatureSpec.from_card(card["features"])
        self._featurizer = Featurizer(self.spec)
        self._vocabulary = np.asarray(arrays["vocabulary"], dtype=np.int64)
        self._idf = np.asarray(arrays["idf"], dtype=np.float64)
        self._unseen_idf = float(np.asarray(arrays["unseen_idf"]).reshape(-1)[0])
        self._coef = np.asarray(arrays["coef"], dtype=np.float64)
        self._intercept = np.asarray(arrays["intercept"], dtype=np.float64)
        expected = (len(self._vocabulary), len(self.classes))
        if self._coef.shape != expected or self._idf.shape != (expected[0],):
            raise ArtifactError(f"weights of shape {self._coef.shape} do not fit {expected}")

    @classmethod
    def load(cls, path: Path, model: str) -> NgramClassifier:
        """The artifact at ``path`` (sha256 checked), whose card says it is ``model``."""
        arrays, card = load_artifact(path)
        if card.get("model") != model:
            raise ArtifactError(f"{path}: not a {model} model (card says {card.get('model')!r})")
        return cls(arrays, card)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Rows of P(class | text), classes in ``self.classes`` order."""
        if not texts:
            return np.zeros((0, len(self.classes)))
        features = weigh(
            self._featurizer.counts(texts),
            self._vocabulary,
            self._idf,
            self._unseen_idf,
            self.spec.n_features,
            self._featurizer.blocks,
        )
        logits = np.asarray(features @ self._coef) + self._intercept
        logits -= logits.max(axis=1, keepdims=True)
        exponentials = np.exp(logits)
        return exponentials / exponentials.sum(axis=1, keepdims=True)


def save(path: Path, arrays: dict[str, np.ndarray], card: dict[str, Any]) -> str:
    """Write the artifact and its card (see :func:`agent.learning.artifacts.save_artifact`)."""
    return save_artifact(path, arrays, card)


# --- thresholds chosen on validation data ------------------------------------------


def threshold_for_recall(positive: np.ndarray, negative: np.ndarray, target: float) -> float:
    """The highest threshold (fewest false positives) at which the share of
    ``positive`` scores at or above it reaches ``target``: halfway between the score
    of the last positive it must keep and the next score below it."""
    ranked = np.sort(np.asarray(positive, dtype=np.float64))[::-1]
    if not len(ranked):
        return 0.5
    keep = min(len(ranked), int(np.ceil(target * len(ranked) - 1e-9)))
    lowest_kept = ranked[keep - 1]
    below = np.concatenate([ranked, np.asarray(negative, dtype=np.float64)])
    below = below[below < lowest_kept]
    if not len(below):
        return float(lowest_kept)
    return float((lowest_kept + below.max()) / 2)


def threshold_for_accuracy(confidence: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The lowest threshold on the top class's probability (fewest abstentions) at which
    the answered items (confidence at or above it) are right at least ``target`` of the
    time: halfway between the last item answered and the first left out."""
    confidence = np.asarray(confidence, dtype=np.float64)
    order = np.argsort(-confidence, kind="stable")
    ranked = confidence[order]
    accuracy = np.cumsum(np.asarray(correct, dtype=bool)[order]) / np.arange(1, len(order) + 1)
    # items of equal confidence are answered together
    last_of_tie = np.r_[ranked[1:] != ranked[:-1], True]
    usable = np.flatnonzero((accuracy >= target) & last_of_tie)
    if not len(usable):
        return 1.0
    k = int(usable[-1])
    if k + 1 == len(ranked):
        return 0.0
    return float((ranked[k] + ranked[k + 1]) / 2)
