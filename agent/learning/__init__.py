"""Trained small models: artifacts checked by hash, fixed splits, thresholds from
validation data, metrics on a test split never tuned on.

Shared by the escalation model (:mod:`agent.guardrails.escalation_model`) and the
intent model. Imports nothing above :mod:`agent.policy`.
"""
