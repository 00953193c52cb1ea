"""Intent matching: nearest example utterances on local embeddings, sharpened by cue patterns.

The examples and cues live in ``prompts/intents.yaml``. One embedding of the message
serves every intent; the example matrix is embedded once at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from agent.knowledge.embeddings import Embedder

CUE_BONUS = 0.30
MIN_SCORE = 0.50


@dataclass(frozen=True)
class IntentScore:
    intent: str
    score: float
    similarity: float
    cue: bool


class IntentMatcher:
    def __init__(self, embedder: Embedder, intents_file: Path) -> None:
        data = yaml.safe_load(intents_file.read_text(encoding="utf-8"))
        self._embedder = embedder
        self._cues: dict[str, list[re.Pattern[str]]] = {}
        labels: list[str] = []
        texts: list[str] = []
        for intent, spec in data.items():
            self._cues[intent] = [re.compile(p, re.IGNORECASE) for p in spec.get("cues", [])]
            for example in spec.get("examples", []):
                labels.append(intent)
                texts.append(example)
        self._labels = np.array(labels)
        self._intents = list(data)
        self._matrix = embedder.embed(texts) if texts else np.zeros((0, embedder.dimension))

    @property
    def intents(self) -> list[str]:
        return list(self._intents)

    def cue_hits(self, text: str) -> set[str]:
        return {i for i, pats in self._cues.items() if any(p.search(text) for p in pats)}

    def rank(self, text: str) -> list[IntentScore]:
        vector = self._embedder.embed([text])[0]
        sims = self._matrix @ vector
        cues = self.cue_hits(text)
        scores = []
        for intent in self._intents:
            mask = self._labels == intent
            similarity = float(sims[mask].max()) if mask.any() else 0.0
            bonus = CUE_BONUS if intent in cues else 0.0
            scores.append(IntentScore(intent, similarity + bonus, similarity, intent in cues))
        return sorted(scores, key=lambda s: (-s.score, s.intent))

    def best(self, text: str) -> IntentScore | None:
        ranked = self.rank(text)
        top = ranked[0] if ranked else None
        if top is None or (top.score < MIN_SCORE and not top.cue):
            return None
        return top
