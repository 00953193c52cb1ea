"""The escalation model for messages in Chinese or Spanish (issue #13): does this
message need a person, and for which reason?

The English model reads the all-MiniLM-L6-v2 embedding, which knows English only; each
other language has its own small model: a multinomial logistic regression over hashed
character n-grams (:mod:`agent.learning.ngram_classifier`), trained by ``loan-agent
train languages`` (:mod:`agent.learning.language_training`) on
``training/languages/<lang>/`` and committed as ``models/escalation.<lang>.npz`` with a
card (sha256 checked at load). The score is ``1 - P(none)``, times the second opinion of
the language's intent model when the card names one: ``1 - weight * P(top intent)`` (a
message the intent model reads surely as a routine request needs more to reach a
person). The weight and the threshold were chosen on validation data; the card records
the figures on the language's holdout file. The intent artifact is found by path (the
guardrails do not import the offline engine) and must be the one the card names (its
sha256).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from agent.learning.artifacts import ArtifactError
from agent.learning.language_training import NONE_LABEL, SecondOpinion, escalation_verdicts
from agent.learning.ngram_classifier import NgramClassifier

MODELS = Path(__file__).resolve().parent / "models"
INTENT_MODELS = Path(__file__).resolve().parent.parent / "engine" / "offline" / "models"


def artifact_path(language: str) -> Path:
    return MODELS / f"escalation.{language}.npz"


def available_languages() -> list[str]:
    """The languages with an escalation artifact and its card."""
    return sorted(
        p.name.split(".")[1]
        for p in MODELS.glob("escalation.*.npz")
        if p.with_suffix(".json").is_file() and len(p.name.split(".")) == 3
    )


@dataclass(frozen=True)
class LanguageVerdict:
    reason: str  # an escalation reason (EscalationReason value)
    score: float  # 1 - P(none) (the decision: times the second opinion's discount)
    reason_probability: float  # P(reason | a person is needed)


class LanguageEscalationModel:
    def __init__(
        self, classifier: NgramClassifier, second_opinion: SecondOpinion | None = None
    ) -> None:
        self.card: dict[str, Any] = classifier.card
        self.language: str = str(self.card["language"])
        self.threshold: float = float(self.card["threshold"])
        if NONE_LABEL not in classifier.classes:
            raise ArtifactError(f"escalation model ({self.language}) has no {NONE_LABEL!r} class")
        self._classifier = classifier
        self.second_opinion = second_opinion

    @classmethod
    def load(
        cls, language: str, path: Path | None = None, intent_dir: Path | None = None
    ) -> LanguageEscalationModel:
        """The language's artifact (refused when missing, tampered with, or not an
        escalation model of that language), with the intent model its card names as
        second opinion (from ``intent_dir``, by default the offline engine's models;
        refused when missing or not the one the card names)."""
        path = path or artifact_path(language)
        classifier = NgramClassifier.load(path, "escalation")
        if classifier.card.get("language") != language:
            raise ArtifactError(
                f"{path}: an escalation model for {classifier.card.get('language')!r}, "
                f"not {language!r}"
            )
        opinion = classifier.card.get("second_opinion") or {}
        if not opinion.get("weight"):
            return cls(classifier)
        intent_path = (intent_dir or INTENT_MODELS) / str(opinion["model"])
        intents = NgramClassifier.load(intent_path, "intent")
        if intents.card.get("sha256") != opinion.get("sha256"):
            raise ArtifactError(
                f"{path}: trained with the intent model of sha256 {opinion.get('sha256')}, "
                f"not {intent_path} ({intents.card.get('sha256')}); retrain both "
                "(loan-agent train languages)"
            )
        return cls(classifier, SecondOpinion(intents, float(opinion["weight"])))

    @property
    def classes(self) -> list[str]:
        return list(self._classifier.classes)

    def verdict(self, text: str) -> LanguageVerdict | None:
        """The reason a person is needed, or None below the threshold."""
        if not text.strip():
            return None
        return self.verdicts([text])[0]

    def verdicts(self, texts: list[str]) -> list[LanguageVerdict | None]:
        found = escalation_verdicts(self._classifier, texts, self.threshold, self.second_opinion)
        return [None if v is None else LanguageVerdict(*v) for v in found]


@cache
def served_model(language: str) -> LanguageEscalationModel:
    """The packaged model of ``language``, loaded once per process."""
    return LanguageEscalationModel.load(language)
