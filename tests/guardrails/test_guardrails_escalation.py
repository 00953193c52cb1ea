"""The escalation classifier: targets on the labelled sets, the honesty of those sets,
first responses, priorities from the policy config, precedence and tricky negatives."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from agent.guardrails.escalation import (
    CRISIS_LINE,
    NONE_LABEL,
    PRECEDENCE,
    STOP_DEBT_DISCUSSION,
    EscalationClassifier,
    normalize_for_lexicon,
)
from agent.knowledge.embeddings import Embedder
from agent.policy.config import EscalationReason, PolicyConfig, Priority

REASONS = [r.value for r in PRECEDENCE]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


# --- the labelled data is honest ----------------------------------------------------


def test_labelled_set_is_large_and_covers_every_reason(
    labelled_items: list[dict[str, Any]],
) -> None:
    assert len(labelled_items) >= 300
    labels = [item["label"] for item in labelled_items]
    for reason in REASONS:
        assert labels.count(reason) >= 30, reason
    categories = [item.get("category") for item in labelled_items if item["label"] == NONE_LABEL]
    assert categories.count("routine") >= 80 and categories.count("out_of_scope") >= 25
    assert set(labels) <= {*REASONS, NONE_LABEL}
    assert EscalationReason.VERIFICATION_FAILED.value not in labels  # comes from the tools
    long_ones = [i for i in labelled_items if len(i["text"]) > 200 and i["text"].count(".") >= 3]
    assert len(long_ones) >= 8


def test_no_duplicates_between_or_within_sets(
    labelled_items: list[dict[str, Any]], holdout_items: list[dict[str, Any]]
) -> None:
    texts = [_norm(i["text"]) for i in labelled_items + holdout_items]
    assert len(texts) == len(set(texts))


# --- targets ------------------------------------------------------------------------


@pytest.mark.parametrize("reason", REASONS)
def test_recall_on_labelled_set(dev_report: dict[str, Any], reason: str) -> None:
    stats = dev_report["per_reason"][reason]
    assert stats["recall"] >= 0.95, (stats, dev_report["mistakes"])
    assert stats["precision"] >= 0.9, (stats, dev_report["mistakes"])


def test_false_escalations_on_labelled_set(dev_report: dict[str, Any]) -> None:
    assert dev_report["false_escalation_rate"] <= 0.05, dev_report["mistakes"]


def test_held_out_set_floors(holdout_report: dict[str, Any]) -> None:
    """Looser floors on the set nothing was tuned on (see the README for the numbers)."""
    assert holdout_report["accuracy"] >= 0.9, holdout_report["mistakes"]
    assert holdout_report["false_escalation_rate"] <= 0.05, holdout_report["mistakes"]
    for reason in REASONS:
        assert holdout_report["per_reason"][reason]["recall"] >= 0.8, reason


def test_lexicon_alone_is_precise(
    lexicon_classifier: EscalationClassifier, labelled_items: list[dict[str, Any]]
) -> None:
    from agent.guardrails.report import escalation_report

    report = escalation_report(lexicon_classifier, labelled_items)
    assert report["false_escalation_rate"] <= 0.03
    for reason in REASONS:
        assert report["per_reason"][reason]["precision"] >= 0.95, reason


# --- behaviour ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "how do I pay",
        "can I pay on Friday",
        "what's my balance",
        "can I change my due date",
        "I'd like to skip a payment",
        "can you waive the late fee",
        "I'll pay $165 next Friday",
        "stop texting me",
        "I got paid less this week so can I pay Friday?",
        "I can pay on April 30",
        "do you offer credit cards",
        "these late fees are killing me",
        "am I talking to a real person?",
        "I don't need a person, just send the link",
        "",
    ],
)
def test_routine_and_out_of_scope_messages_do_not_escalate(
    escalation_classifier: EscalationClassifier, text: str
) -> None:
    assert escalation_classifier.classify(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "I don't see the point anymore",
        "I've been thinking about ending it all",
        "everyone would be better off without me",
        "I want to kill myself",
        "can I talk to a real person? I'm thinking about suicide",
    ],
)
def test_self_harm_gets_the_crisis_line_first(
    escalation_classifier: EscalationClassifier, text: str
) -> None:
    verdict = escalation_classifier.classify(text)
    assert verdict is not None
    assert verdict.reason == EscalationReason.VULNERABILITY
    assert verdict.first_response == CRISIS_LINE
    assert verdict.priority == Priority.HIGH


def test_attorney_representation_stops_the_debt_discussion(
    escalation_classifier: EscalationClassifier,
) -> None:
    verdict = escalation_classifier.classify("My attorney is handling this, please contact her.")
    assert verdict is not None and verdict.reason == EscalationReason.LEGAL
    assert verdict.first_response == STOP_DEBT_DISCUSSION
    bankruptcy = escalation_classifier.classify("I filed for bankruptcy last week")
    assert bankruptcy is not None and bankruptcy.reason == EscalationReason.LEGAL
    assert bankruptcy.first_response is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I can't pay for two months", EscalationReason.HARDSHIP),
        ("I lost my job and I want to speak to a manager", EscalationReason.HARDSHIP),
        ("I want to file a complaint with the CFPB", EscalationReason.LEGAL),
        ("I want to file a complaint about your agent", EscalationReason.COMPLAINT),
        ("someone stole my identity and I'm going to sue you", EscalationReason.LEGAL),
        ("this loan isn't mine and your agent was rude", EscalationReason.FRAUD),
        ("I already paid, let me talk to a supervisor", EscalationReason.DISPUTE),
        ("I need a reprsentative", EscalationReason.HUMAN_REQUEST),
        ("my husband lost his job and I can't pay", EscalationReason.HARDSHIP),
    ],
)
def test_reason_and_precedence(
    escalation_classifier: EscalationClassifier, text: str, reason: EscalationReason
) -> None:
    verdict = escalation_classifier.classify(text)
    assert verdict is not None and verdict.reason == reason, (text, verdict)
    assert verdict.evidence and 0 < verdict.confidence <= 1


def test_priority_comes_from_the_policy_config(policy: PolicyConfig) -> None:
    priorities = dict(policy.escalation.priorities)
    priorities[EscalationReason.HARDSHIP] = Priority.HIGH
    changed = policy.model_copy(
        update={"escalation": policy.escalation.model_copy(update={"priorities": priorities})}
    )
    classifier = EscalationClassifier(None, changed)
    verdict = classifier.classify("I was laid off last month")
    assert verdict is not None and verdict.priority == Priority.HIGH
    assert EscalationClassifier(None, policy).classify("I was laid off last month").priority == (
        Priority.NORMAL
    )


def test_a_pasted_letter_is_read_sentence_by_sentence(
    escalation_classifier: EscalationClassifier,
) -> None:
    letter = (
        "Dear Sir or Madam. I have been a loyal customer for four years. I always paid on "
        "the first of the month, usually a few days early. Last spring my situation changed. "
        "The plant where I worked closed and I have been without steady work since then. "
        "I would appreciate any help you can offer. Sincerely, a customer."
    )
    verdict = escalation_classifier.classify(letter)
    assert verdict is not None and verdict.reason == EscalationReason.HARDSHIP


class _CountingEmbedder:
    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.calls: list[int] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return self.inner.embed(texts)


def test_embedding_calls_per_message(guard_embedder: Embedder, policy: PolicyConfig) -> None:
    counting = _CountingEmbedder(guard_embedder)
    classifier = EscalationClassifier(counting, policy)
    counting.calls.clear()
    classifier.classify("can I move my due date to the 20th")
    assert counting.calls == [1]  # a short message: embedded once
    counting.calls.clear()
    letter = "Hello there, thanks for the reminder about my installment. " * 3 + "Have a good day."
    assert classifier.classify(letter) is None
    # A long one: the whole and its 3 sentences long enough to judge, in one batch.
    assert counting.calls == [4]


def test_never_produces_verification_failed(
    dev_report: dict[str, Any], holdout_report: dict[str, Any]
) -> None:
    for report in (dev_report, holdout_report):
        assert "verification_failed" not in report["per_reason"]


def test_normalisation_expands_contractions_and_fixes_typos(
    lexicon_classifier: EscalationClassifier,
) -> None:
    assert normalize_for_lexicon("I can't, I won't, I'm done") == "i cannot, i will not, i am done"
    assert "were" in normalize_for_lexicon("payments were late")  # not "we are"
    verdict = lexicon_classifier.classify("can i talk to a supervisr")
    assert verdict is not None and verdict.reason == EscalationReason.HUMAN_REQUEST
    assert lexicon_classifier.classify("I'm compliant with the plan") is None
