"""Intent ranking: the trained intent model's probabilities, with the cue patterns.

The probabilities come from :class:`~agent.engine.offline.intent_model.IntentModel`
(logistic regression over the message's MiniLM embedding, weights checked by sha256 at
load); the cue patterns (high-precision regular expressions) live in
``prompts/intents.yaml``. The thresholds that decide when to act, when a write may be
guessed without a cue, and when the model stands against a cue were chosen on the
validation split and come with the model (``thresholds``).

The embedding model's word list (its tokenizer vocabulary) tells a message in words from
keyboard noise ("blorp zzzt qwerty"): the model has no class for noise and reads it as
its catch-all, out of scope; the engine treats it as not understood instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from agent.engine.offline.intent_model import DEFAULT_ARTIFACT, CueSet, IntentModel, Thresholds
from agent.knowledge.embeddings import Embedder, minilm_model_dir

# More than this share of a message's words unknown to the embedding model's vocabulary:
# noise. Over the 3,838 training utterances (ours, CLINC150, banking77) it flags five,
# all single words ("aloha", "salutations!").
NOISE_SHARE = 0.5
_WORD = re.compile(r"[a-z]+")


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """The whole words of the MiniLM tokenizer's vocabulary (empty when not installed)."""
    try:
        path = minilm_model_dir() / "vocab.txt"
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, ImportError, RuntimeError, ValueError):
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.isascii())


def unknown_share(text: str) -> float:
    """The share of the message's words that are not words of the vocabulary."""
    vocabulary = known_words()
    words = _WORD.findall(text.lower())
    if not words or not vocabulary:
        return 0.0
    return sum(1 for w in words if w not in vocabulary) / len(words)


def looks_like_noise(text: str) -> bool:
    return unknown_share(text) > NOISE_SHARE


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
