"""Intent ranking: the trained intent model's probabilities, with the cue patterns.

The probabilities come from :class:`~agent.engine.offline.intent_model.IntentModel`
(logistic regression over the message's MiniLM embedding, weights checked by sha256 at
load); the cue patterns (high-precision regular expressions) live in
``prompts/intents.yaml``. The thresholds that decide when to act, when a write may be
guessed without a cue, and when the model stands against a cue were chosen on the
validation split and come with the model (``thresholds``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.engine.offline.intent_model import DEFAULT_ARTIFACT, CueSet, IntentModel, Thresholds
from agent.knowledge.embeddings import Embedder


@dataclass(frozen=True)
class IntentScore:
    intent: str
    probability: float  # P(intent | message) from the trained model
    cue: bool  # a cue pattern of the intent matches

    @property
    def score(self) -> float:
        return self.probability


class IntentMatcher:
    def __init__(
        self, embedder: Embedder, intents_file: Path, model_file: Path = DEFAULT_ARTIFACT
    ) -> None:
        self._cues = CueSet.from_file(intents_file)
        self.model = IntentModel.load(embedder, model_file)

    @property
    def intents(self) -> list[str]:
        return list(self.model.classes)

    @property
    def thresholds(self) -> Thresholds:
        return self.model.thresholds

    def cue_hits(self, text: str) -> set[str]:
        return self._cues.hits(text)

    def rank(self, text: str) -> list[IntentScore]:
        """Every intent, most probable first."""
        probabilities = self.model.probabilities(text)
        cues = self.cue_hits(text)
        scores = [IntentScore(i, p, i in cues) for i, p in probabilities.items()]
        return sorted(scores, key=lambda s: (-s.probability, s.intent))

    def best(self, text: str) -> IntentScore | None:
        """The top intent when it may be acted on (a cue, or over the threshold)."""
        ranked = self.rank(text)
        top = ranked[0] if ranked else None
        if top is None or (top.probability < self.thresholds.act and not top.cue):
            return None
        return top
