"""The intent model for messages in Chinese or Spanish (issue #13): which of our
intents a message asks for, and how sure.

The English intent model reads the MiniLM embedding (English only); each other language
has its own multinomial logistic regression over hashed character n-grams
(:mod:`agent.learning.ngram_classifier`), trained by ``loan-agent train languages`` on
``training/languages/<lang>/intents.yaml`` and committed as
``models/intent.<lang>.npz`` with a card (sha256 checked at load). Below
``act_threshold`` (chosen on validation data: the intents acted on are right at least
95 % of the time there) the engine asks a clarifying question instead of acting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.learning.artifacts import ArtifactError
from agent.learning.ngram_classifier import NgramClassifier

MODELS = Path(__file__).resolve().parent / "models"


def artifact_path(language: str) -> Path:
    return MODELS / f"intent.{language}.npz"


def available_languages() -> list[str]:
    """The languages with an intent artifact and its card."""
    return sorted(
        p.name.split(".")[1]
        for p in MODELS.glob("intent.*.npz")
        if p.with_suffix(".json").is_file() and len(p.name.split(".")) == 3
    )


class LanguageIntentModel:
    def __init__(self, classifier: NgramClassifier) -> None:
        self.card: dict[str, Any] = classifier.card
        self.language: str = str(self.card["language"])
        self.classes: list[str] = list(classifier.classes)
        self.act_threshold: float = float(self.card["act_threshold"])
        self._classifier = classifier

    @classmethod
    def load(cls, language: str, path: Path | None = None) -> LanguageIntentModel:
        """The language's artifact (refused when missing, tampered with, or not an
        intent model of that language)."""
        path = path or artifact_path(language)
        classifier = NgramClassifier.load(path, "intent")
        if classifier.card.get("language") != language:
            raise ArtifactError(
                f"{path}: an intent model for {classifier.card.get('language')!r}, not {language!r}"
            )
        return cls(classifier)

    def probabilities(self, text: str) -> dict[str, float]:
        """P(intent | message) over every intent of the training file."""
        row = self._classifier.probabilities([text])[0]
        return {intent: float(p) for intent, p in zip(self.classes, row, strict=True)}

    def top(self, text: str) -> tuple[str, float]:
        """The likeliest intent and its probability (act on it from ``act_threshold``)."""
        row = self._classifier.probabilities([text])[0]
        index = int(row.argmax())
        return self.classes[index], float(row[index])
