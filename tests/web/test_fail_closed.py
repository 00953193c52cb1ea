"""Fail closed: a guardrail that cannot load (or loads but lets its probe through) stops
``build_engines``, and so the server's start, with a message naming it. Before, a
prohibited-content check that failed to import left the agent running without it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from agent.guardrails.availability import GuardrailUnavailable
from agent.guardrails.injection import InjectionVerdict
from agent.guardrails.pii import PIIResult
from agent.runtime import Engines, build_engines
from agent.settings import Settings
from web.app import create_app


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, environment="test", database_url="sqlite://", data_dir=tmp_path)


@pytest.fixture
def cheap_build(engines: Engines, monkeypatch: pytest.MonkeyPatch) -> None:
    """``build_engines`` reuses the session's embedder (loading it is the slow part)."""
    monkeypatch.setattr("agent.runtime.embedder_from_settings", lambda settings: engines.embedder)


def test_a_prohibited_content_check_that_cannot_import_stops_the_build(
    settings: Settings, cheap_build: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "agent.guardrails.output_content", None)
    with pytest.raises(GuardrailUnavailable, match="prohibited-content check") as failed:
        build_engines(settings, ingest_if_needed=False)
    assert "does not start without it" in str(failed.value)


def test_and_stops_the_server_start(
    settings: Settings, cheap_build: None, db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "agent.guardrails.output_content", None)
    app = create_app(settings, db_engine=db_engine)  # the server's path: built in the lifespan
    with pytest.raises(GuardrailUnavailable, match="prohibited-content check"), TestClient(app):
        pass


def test_a_prohibited_content_check_that_catches_nothing_stops_the_build(
    settings: Settings, cheap_build: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agent.guardrails.output_content.check_prohibited", lambda text: [])
    with pytest.raises(GuardrailUnavailable, match="prohibited-content check: it let"):
        build_engines(settings, ingest_if_needed=False)


def test_a_missing_escalation_model_stops_the_build(
    settings: Settings, cheap_build: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agent.guardrails.escalation.DEFAULT_ARTIFACT", tmp_path / "gone.npz")
    with pytest.raises(GuardrailUnavailable, match="escalation classifier") as failed:
        build_engines(settings, ingest_if_needed=False)
    assert "gone.npz" in str(failed.value)


def _passes_through(text: str) -> PIIResult:
    return PIIResult(text=text, findings=[])


def _sees_no_attack(text: str, known_loans: Any = None) -> InjectionVerdict:
    return InjectionVerdict(is_attack=False, family=None, evidence=[], foreign_loans=[])


@pytest.mark.parametrize(
    ("target", "broken", "named"),
    [
        ("agent.guardrails.input_pipeline.mask_pii", _passes_through, "PII masking"),
        (
            "agent.guardrails.input_pipeline.detect_injection",
            _sees_no_attack,
            "prompt-injection detector",
        ),
        (
            "agent.guardrails.input_pipeline.detect_third_party",
            lambda text: type("V", (), {"is_third_party": False})(),
            "third-party detector",
        ),
    ],
)
def test_an_input_guardrail_that_lets_its_probe_through_stops_the_build(
    settings: Settings,
    cheap_build: None,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    broken: Any,
    named: str,
) -> None:
    monkeypatch.setattr(target, broken)
    with pytest.raises(GuardrailUnavailable, match=named):
        build_engines(settings, ingest_if_needed=False)


def test_an_input_guardrail_that_raises_stops_the_build(
    settings: Settings, cheap_build: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(text: str) -> PIIResult:
        raise RuntimeError("regex table missing")

    monkeypatch.setattr("agent.guardrails.input_pipeline.mask_pii", crash)
    with pytest.raises(GuardrailUnavailable, match="regex table missing"):
        build_engines(settings, ingest_if_needed=False)


def test_a_retriever_that_cannot_import_stops_the_build(
    settings: Settings, cheap_build: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The policy documents are how the agent answers policy questions: no silent None."""
    monkeypatch.setitem(sys.modules, "agent.knowledge.retriever", None)
    with pytest.raises(ImportError, match=r"agent\.knowledge\.retriever"):
        build_engines(settings, ingest_if_needed=False)


def test_the_sound_build_passes_its_probes(engines: Engines) -> None:
    """The session's engines were built by ``build_engines``, probes included."""
    assert engines.guards.classifier.model is not None
    verdict = engines.guards.check("card 4111 1111 1111 1111, and I want a real person")
    assert "4111111111111111" not in verdict.text.replace(" ", "")
    assert verdict.escalation is not None
