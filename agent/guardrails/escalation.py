"""Escalation classifier: does a customer message need a person, and for which reason?

Two deterministic steps:

1. a high-precision regular-expression lexicon (``prompts/escalation/lexicon.yaml``)
   over the normalised message (contractions expanded, known typos of key words
   corrected): precise cues that explain themselves to staff;
2. the trained model (:mod:`agent.guardrails.escalation_model`): a logistic regression
   over the sentence embedding and hashed word n-grams, trained on real complaint
   narratives, bank questions and our own labelled sets
   (:mod:`agent.guardrails.escalation_training`), with its threshold chosen on a
   validation split. A long message is scored whole and sentence by sentence.

``verification_failed`` is never produced here: it comes from the tools.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml

from agent.guardrails.escalation_model import DEFAULT_ARTIFACT, EscalationModel
from agent.guardrails.language_escalation import LanguageEscalationModel, available_languages
from agent.language.normalize import normalize_for_lexicon
from agent.language.typos import TypoFixer
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


# The second opinion: P(the message is a routine account request), from the intent
# model, wired in by the runtime (guardrails do not import the engine).
RoutineCheck = Callable[[str], float]
# The escalation model's vote alone is overruled only when it is not sure and the intent
# model is sure the message is routine ("nobody call me before 10" is a contact
# preference; "I can't pay until the 30th" a promise within the rules). Only votes for
# reasons that a routine answer cannot harm may be overruled: a dispute, fraud, a legal
# matter or a person at risk must reach a person before any figure is said, and a
# lexicon cue is never overruled.
MODEL_SURE = 0.9
ROUTINE_SURE = 0.9
OVERRULABLE = frozenset(
    {EscalationReason.HARDSHIP, EscalationReason.COMPLAINT, EscalationReason.HUMAN_REQUEST}
)


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
    corroborates: bool = False  # a model vote counted for the lexicon's reason
    reason_probability: float = 0.0  # the model's probability of its reason


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


def load_lexicon(path: Path) -> tuple[list[_Group], TypoFixer]:
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
    fixer = TypoFixer(data.get("typo_targets", []), data.get("typo_exceptions", []))
    return groups, fixer


# --- the classifier ---------------------------------------------------------------


class EscalationClassifier:
    """Decides whether a customer message is escalated, and with which single reason.

    The lexicon (``lexicon.yaml``) gives precise, explainable cues; the trained model
    (:mod:`agent.guardrails.escalation_model`) decides on every wording the lexicon does
    not know. Either one escalates; the reason follows the precedence among what fired.
    Without an embedder only the lexicon runs (tests of the lexicon itself).
    """

    def __init__(
        self,
        embedder: Embedder | None,
        policy: PolicyConfig,
        data_dir: Path | str = DEFAULT_DATA_DIR,
        model_path: Path | None = None,
        routine_check: RoutineCheck | None = None,
    ) -> None:
        data_dir = Path(data_dir)
        self._policy = policy
        self._routine_check = routine_check
        self._groups, self._typos = load_lexicon(data_dir / "lexicon.yaml")
        self._first_response = {
            (g.reason.value, g.tag): g.first_response for g in self._groups if g.first_response
        }
        self.model: EscalationModel | None = None
        # Chinese and Spanish have models of their own (character n-grams: the sentence
        # embedding is English-only); they load with the English model.
        self.language_models: dict[str, LanguageEscalationModel] = {}
        if embedder is not None:
            self.model = EscalationModel.load(embedder, model_path or DEFAULT_ARTIFACT)
            self.language_models = {
                language: LanguageEscalationModel.load(language)
                for language in available_languages()
            }

    # -- public --

    def classify(self, text: str, language: str = "en") -> EscalationVerdict | None:
        if not text or not text.strip():
            return None
        if language in self.language_models:
            return self._classify_in(text, language)
        hits, negated = self._lexicon(text)
        # A reason the lexicon saw negated or excused ("I don't need a person", "I'm not
        # suicidal", "working again") is not taken from the model's vote alone. When the
        # lexicon named a reason, the model's own reason only stands beside it when it is
        # a person at risk or the model is sure of it; otherwise the vote counts for the
        # lexicon's reason (precise, and it explains itself to staff).
        named = next((r for r in PRECEDENCE if any(h.reason == r for h in hits)), None)
        for hit in self._model_hits(text):
            if hit.reason in negated or (named is None and self._overruled(text, hit)):
                continue
            if (
                named is not None
                and hit.reason != EscalationReason.VULNERABILITY
                and hit.reason_probability < MODEL_SURE
            ):
                hit = replace(
                    hit,
                    reason=named,
                    corroborates=True,
                    detail=f"{hit.detail}; counted for the lexicon's {named.value}",
                )
            hits.append(hit)
        return self._decide(hits)

    def _classify_in(self, text: str, language: str) -> EscalationVerdict | None:
        """A Chinese or Spanish message: its language's model decides; English cues in a
        mixed message ("我要 talk to a human") count too."""
        hits = self._lexicon(text)[0]
        verdict = self.language_models[language].verdict(text)
        if verdict is not None:
            hits.append(
                _Hit(
                    EscalationReason(verdict.reason),
                    "model",
                    "model",
                    round(verdict.score, 3),
                    f"{language} model; needs a person {verdict.score:.2f}, "
                    f"reason {verdict.reason} {verdict.reason_probability:.2f}",
                    reason_probability=verdict.reason_probability,
                )
            )
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

    # -- internals --

    def _overruled(self, text: str, hit: _Hit) -> bool:
        """The intent model's second opinion on a vote of the escalation model alone."""
        if self._routine_check is None or hit.reason not in OVERRULABLE or hit.score >= MODEL_SURE:
            return False
        return self._routine_check(text) >= ROUTINE_SURE

    def _model_hits(self, text: str) -> list[_Hit]:
        if self.model is None:
            return []
        verdict = self.model.verdict(text)
        if verdict is None:
            return []
        where = "message" if verdict.whole else f"sentence {verdict.unit[:80]!r}"
        return [
            _Hit(
                EscalationReason(verdict.reason),
                "model",
                "model",
                round(verdict.score, 3),
                f"{where}; needs a person {verdict.score:.2f}, "
                f"reason {verdict.reason} {verdict.reason_probability:.2f}",
                sentence_only=not verdict.whole,
                reason_probability=verdict.reason_probability,
            )
        ]

    def _decide(self, hits: list[_Hit]) -> EscalationVerdict | None:
        if not hits:
            return None
        # Votes on single sentences of a long message are a fallback for letters whose
        # whole-message embedding is diluted: they count only when nothing else fired,
        # and then the most probable one wins (one weak sentence must not outrank).
        primary = [h for h in hits if not h.sentence_only or h.reason_probability >= MODEL_SURE]
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
        # A crisis line is never lost to another tag of the same reason; and when only the
        # model saw a person at risk (it does not tell self-harm from other risks), the
        # crisis line comes first too: a needless one costs little, a missing one a life.
        if reason == EscalationReason.VULNERABILITY and (
            "self_harm" in tags or set(tags) == {"model"}
        ):
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
