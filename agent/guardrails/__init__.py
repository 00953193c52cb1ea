"""Deterministic guardrails around every turn: pure functions of text (no database,
no LangChain, no web). They raise signals; authorization stays in the tools.

Input side: :func:`mask_pii`, :func:`detect_injection`, :func:`detect_third_party`,
:class:`EscalationClassifier`. Output side: :func:`check_prohibited` (and the lead's
``output_checks``). Data (lexicon, example utterances) lives in ``prompts/escalation/``.
"""

from agent.guardrails.escalation import (
    CRISIS_LINE,
    PRECEDENCE,
    STOP_DEBT_DISCUSSION,
    EscalationClassifier,
    EscalationVerdict,
)
from agent.guardrails.injection import InjectionVerdict, detect_injection
from agent.guardrails.output_content import ContentViolation, check_prohibited
from agent.guardrails.pii import PIIFinding, PIIResult, mask_pii
from agent.guardrails.third_party import ThirdPartyVerdict, detect_third_party

__all__ = [
    "CRISIS_LINE",
    "PRECEDENCE",
    "STOP_DEBT_DISCUSSION",
    "ContentViolation",
    "EscalationClassifier",
    "EscalationVerdict",
    "InjectionVerdict",
    "PIIFinding",
    "PIIResult",
    "ThirdPartyVerdict",
    "check_prohibited",
    "detect_injection",
    "detect_third_party",
    "mask_pii",
]
