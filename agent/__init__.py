"""Conversational post-loan servicing agent (core package).

Sub-packages, in the direction of their dependencies:
``policy`` (pure rules and the policy config) ← ``ledger`` (SQLModel book of loans)
← ``knowledge`` (policy documents in Chroma) ← ``tools`` (what the agent may do)
← ``engine`` (LangChain agent loop, offline engine or an OpenAI-compatible LLM)
← ``conversation`` (state machine, transcript, turns) with ``guardrails`` and
``audit`` around every turn. ``evaluation`` runs scenario files; ``cli`` is the
``loan-agent`` command.
"""

__version__ = "0.1.0"
