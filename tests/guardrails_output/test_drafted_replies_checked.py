"""Replies drafted for a person at the console pass the same link and phone checks as
the assistant's: a suggestion carrying another site or number is not offered."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.conversation.models import Conversation
from agent.drafting import replies

SUGGESTIONS = {
    "human_request": [
        "Hi {first_name}, call us at {phone}.",
        "Our help pages are at https://harborcf.example/help.",
        "Pay at http://evil.example/pay instead.",
        "Or call 1-900-555-0142.",
        "Write to billing@evil.example.",
    ]
}


@pytest.fixture
def suggestions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replies, "_load", lambda: SUGGESTIONS)


def test_drafts_with_another_site_or_number_are_not_offered(suggestions, policy) -> None:
    conv = Conversation(id="c1", escalation_reason="human_request")
    drafts = replies.draft_replies(
        None, conv, policy, datetime(2026, 3, 10, tzinfo=UTC), ("harborcf.example",)
    )
    assert drafts == [
        f"Hi there, call us at {policy.lender.support_phone}.",
        "Our help pages are at https://harborcf.example/help.",
        "Before we go on, could you confirm your date of birth and the ZIP code on file?",
    ]


def test_the_shipped_suggestions_all_pass(policy) -> None:
    conv = Conversation(id="c1", escalation_reason="human_request")
    for reason in replies._load():
        conv.escalation_reason = reason
        drafts = replies.draft_replies(None, conv, policy, datetime(2026, 3, 10, tzinfo=UTC))
        assert len(drafts) == min(len(replies._load()[reason]) + 1, 4), reason
