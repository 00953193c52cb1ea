"""The LLM-path fixtures (tests/llm/conftest.py): a scripted OpenAI-compatible server
over real HTTP and a harness per test around a conversation service that talks to it."""

from tests.llm.conftest import (  # noqa: F401  (fixtures, shared)
    make_harness,
    offline_pieces,
    scripted_server,
    server,
)
