"""The input side of every turn, in order: mask PII, classify escalation, detect a third
party, detect injection. Authorization never depends on this: the tools stay authoritative."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.guardrails.escalation import EscalationClassifier
from agent.guardrails.injection import detect_injection
from agent.guardrails.pii import mask_pii
from agent.guardrails.third_party import detect_third_party


@dataclass
class InputVerdict:
    text: str  # masked: what is stored and what any model sees
    pii_kinds: list[str] = field(default_factory=list)
    escalation: Any | None = None
    third_party: Any | None = None
    injection: Any | None = None


class InputGuards:
    def __init__(self, classifier: EscalationClassifier) -> None:
        self.classifier = classifier

    def check(
        self, raw_text: str, known_loans: list[str] | None = None, language: str = "en"
    ) -> InputVerdict:
        """``known_loans``: the verified customer's own loans; any other loan number in the
        message is then treated as a request for someone else's data. ``language``: the
        message's (``agent.language.detect``), which picks the escalation model."""
        masked = mask_pii(raw_text)
        verdict = InputVerdict(text=masked.text, pii_kinds=[f.kind for f in masked.findings])
        verdict.escalation = self.classifier.classify(masked.text, language)
        third_party = detect_third_party(masked.text)
        if third_party.is_third_party:
            verdict.third_party = third_party
        injection = detect_injection(masked.text, known_loans=known_loans)
        if injection.is_attack:
            verdict.injection = injection
        return verdict
