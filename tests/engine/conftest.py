"""Fixtures for the offline engine's tests: a fixed "today" and the intent matcher."""

from __future__ import annotations

from datetime import date

import pytest

from agent.engine.offline.intents import IntentMatcher
from agent.settings import PROJECT_ROOT

# Tuesday, March 10, 2026: the clock of the public scenarios.
TODAY = date(2026, 3, 10)


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture(scope="session")
def intent_matcher() -> IntentMatcher:
    """The matcher on the real local embedder and ``prompts/intents.yaml`` (about 10 s)."""
    from agent.knowledge.embeddings import get_embedder

    return IntentMatcher(get_embedder("local"), PROJECT_ROOT / "prompts" / "intents.yaml")
