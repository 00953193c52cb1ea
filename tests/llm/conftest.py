"""Fixtures of the LLM-path tests.

The heavy offline pieces (policy, embedder, escalation classifier) are built once per
test session, and so is the scripted OpenAI-compatible server (reset before each test).
Every test gets its own in-memory database holding the demo ledger of
/work/shared/scenarios/basic.yaml, its own ``ServicingAgent`` whose model is a real
``ChatOpenAI`` (built by ``agent.engine.llm.openai_compatible_model``) pointed at the
scripted server, and a conversation service on a fixed clock (see harness.py).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel

from agent.engine.templates import Templates
from agent.guardrails.escalation import EscalationClassifier
from agent.guardrails.input_pipeline import InputGuards
from agent.knowledge.embeddings import embedder_from_settings
from agent.policy.config import load_policy
from agent.settings import Settings
from tests.llm.harness import (
    DEFAULT_TIMEOUT,
    HarnessFactory,
    LLMHarness,
    OfflinePieces,
    build_harness,
)
from tests.llm.scripted_openai import ScriptedOpenAI


@pytest.fixture(scope="session")
def offline_pieces(tmp_path_factory: pytest.TempPathFactory) -> OfflinePieces:
    settings = Settings(
        _env_file=None,
        environment="test",
        data_dir=tmp_path_factory.mktemp("llm-data"),
        database_url="sqlite://",
        redis_url=None,
        llm_provider="offline",
        embedding_provider="local",
    )
    policy = load_policy(settings.policy_file)
    embedder = embedder_from_settings(settings)
    guards = InputGuards(EscalationClassifier(embedder, policy))
    templates = Templates(settings.prompts_dir / "replies.yaml")
    return OfflinePieces(settings, policy, embedder, guards, templates)


@pytest.fixture(scope="session")
def scripted_server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as server:
        yield server


@pytest.fixture
def server(scripted_server: ScriptedOpenAI) -> ScriptedOpenAI:
    scripted_server.reset()
    return scripted_server


@pytest.fixture
def make_harness(
    offline_pieces: OfflinePieces,
    server: ScriptedOpenAI,
) -> Iterator[HarnessFactory]:
    """Build a harness; ``timeout`` is the LLM client's timeout in seconds, ``llm`` another
    chat model than the one the settings give (``overrides`` are more settings)."""
    built: list[LLMHarness] = []

    def make(
        timeout: float = DEFAULT_TIMEOUT, llm: BaseChatModel | None = None, **overrides: Any
    ) -> LLMHarness:
        harness = build_harness(offline_pieces, server, timeout=timeout, llm=llm, **overrides)
        built.append(harness)
        return harness

    yield make
    for harness in built:
        harness.db.dispose()


@pytest.fixture(params=[True, False], ids=["streamed", "whole"])
def harness(make_harness: HarnessFactory, request: pytest.FixtureRequest) -> LLMHarness:
    """Every LLM-path test runs twice: with the endpoint streaming its answers as
    server-sent events (the default) and answering each call whole."""
    return make_harness(llm_streaming=request.param)
