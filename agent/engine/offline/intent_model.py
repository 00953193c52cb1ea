"""The trained intent model: which of our intents a message asks for, and how sure.

A multinomial logistic regression over the all-MiniLM-L6-v2 embedding of the normalised
message: the same embedding the engine computes for the turn (the embedder caches it),
so reading the intent costs one small matrix product. The weights are trained by
``loan-agent train intents`` (:mod:`agent.engine.offline.intent_training`) and committed
with their sha256 (checked here at load); the card beside them records the thresholds
chosen on the validation split and the figures on the test split.

The cue patterns of ``prompts/intents.yaml`` stay as high-precision overrides (see
:mod:`agent.engine.offline.understanding`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml

from agent.learning.artifacts import ArtifactError, check_embedding_dimension, load_artifact

DEFAULT_ARTIFACT = Path(__file__).resolve().parent / "models" / "intent.npz"
WRITE_INTENTS = frozenset({"promise_to_pay", "due_date_change", "deferral", "fee_waiver"})


class Embedder(Protocol):
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


def model_input(text: str) -> str:
    """The text as the model reads it: the engine's normalised message."""
    from agent.language.normalize import normalize

    return normalize(text)


def softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=-1, keepdims=True)
    exponentials = np.exp(logits)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


class CueSet:
    """The cue patterns of ``prompts/intents.yaml`` (regular expressions, any case)."""

    def __init__(self, cues: dict[str, list[re.Pattern[str]]]) -> None:
        self._cues = cues

    @classmethod
    def from_file(cls, intents_file: Path) -> CueSet:
        data = yaml.safe_load(intents_file.read_text(encoding="utf-8"))
        return cls(
            {
                intent: [re.compile(p, re.IGNORECASE) for p in spec.get("cues", [])]
                for intent, spec in data.items()
            }
        )

    def hits(self, text: str) -> set[str]:
        return {i for i, patterns in self._cues.items() if any(p.search(text) for p in patterns)}


@dataclass(frozen=True)
class Thresholds:
    """Chosen on the validation split (see the card)."""

    act: float  # the top intent is acted on from here (else: a clarifying question)
    write: float  # a write intent without a cue needs this much
    confident: float  # the model's top intent stands against another intent's cue


class IntentModel:
    def __init__(self, arrays: dict[str, np.ndarray], card: dict[str, Any], embedder: Embedder):
        self.card = card
        self.classes: list[str] = list(card["classes"])
        self.thresholds = Thresholds(
            float(card["threshold"]),
            float(card["write_threshold"]),
            float(card["confident_threshold"]),
        )
        self._coef = np.asarray(arrays["coef"], dtype=np.float32)
        self._intercept = np.asarray(arrays["intercept"], dtype=np.float32)
        if self._coef.shape != (len(self.classes), int(card["embedding_dimension"])):
            raise ArtifactError(f"intent model: weights of shape {self._coef.shape} do not fit")
        check_embedding_dimension(card, embedder, "intent")
        self._embedder = embedder

    @classmethod
    def load(cls, embedder: Embedder, path: Path = DEFAULT_ARTIFACT) -> IntentModel:
        arrays, card = load_artifact(path)
        if card.get("model") != "intent":
            raise ArtifactError(f"{path}: not an intent model (card says {card.get('model')!r})")
        return cls(arrays, card, embedder)

    def probabilities(self, text: str) -> dict[str, float]:
        """P(intent | message) for the normalised message (embedded once, cached)."""
        vector = np.asarray(self._embedder.embed([text])[0], dtype=np.float32)
        row = softmax((self._coef @ vector + self._intercept).astype(np.float64))
        return {intent: float(p) for intent, p in zip(self.classes, row, strict=True)}
