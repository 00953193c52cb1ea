"""Fixtures for the guardrail tests: the embedder and the classifiers are built once per
test session (loading the sentence model takes ~10 s)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.guardrails.escalation import EscalationClassifier
from agent.guardrails.report import escalation_report, load_items
from agent.knowledge.embeddings import Embedder, get_embedder
from agent.policy.config import PolicyConfig

HERE = Path(__file__).resolve().parent
LABELLED = HERE / "escalation_labelled.yaml"
HOLDOUT = HERE / "escalation_holdout.yaml"
INJECTION = HERE / "injection_labelled.yaml"
PII_CASES = HERE / "pii_cases.yaml"
ATTACKS = HERE.parent / "adversarial" / "attacks.yaml"


@pytest.fixture(scope="session")
def guard_embedder() -> Embedder:
    return get_embedder()


@pytest.fixture(scope="session")
def escalation_classifier(guard_embedder: Embedder, policy: PolicyConfig) -> EscalationClassifier:
    return EscalationClassifier(guard_embedder, policy)


@pytest.fixture(scope="session")
def lexicon_classifier(policy: PolicyConfig) -> EscalationClassifier:
    """The lexicon alone (no embeddings): fast, and must be precise by itself."""
    return EscalationClassifier(None, policy)


@pytest.fixture(scope="session")
def labelled_items() -> list[dict[str, Any]]:
    return load_items(LABELLED)


@pytest.fixture(scope="session")
def holdout_items() -> list[dict[str, Any]]:
    return load_items(HOLDOUT)


@pytest.fixture(scope="session")
def dev_report(
    escalation_classifier: EscalationClassifier, labelled_items: list[dict[str, Any]]
) -> dict[str, Any]:
    return escalation_report(escalation_classifier, labelled_items)


@pytest.fixture(scope="session")
def holdout_report(
    escalation_classifier: EscalationClassifier, holdout_items: list[dict[str, Any]]
) -> dict[str, Any]:
    return escalation_report(escalation_classifier, holdout_items)
