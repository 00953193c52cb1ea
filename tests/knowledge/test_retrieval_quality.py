"""Retrieval quality on the labelled customer questions (the speed target lives only in
``loan-agent retrieval-bench``, never in a timed unit test)."""

from __future__ import annotations

from collections import Counter

import pytest

from agent.knowledge.evaluation import (
    RECALL_AT_1_TARGET,
    RECALL_AT_3_TARGET,
    RecallReport,
    evaluate_recall,
)


@pytest.fixture(scope="module")
def report(real_retriever, question_set) -> RecallReport:
    return evaluate_recall(real_retriever, question_set)


def test_the_question_set_is_large_labelled_and_covers_every_document(
    question_set, real_documents
) -> None:
    ids = {d.doc_id for d in real_documents}
    questions = question_set.questions
    assert len(questions) >= 60
    assert {q.doc_id for q in questions} <= ids
    assert len({q.question.lower() for q in questions}) == len(questions)
    per_doc = Counter(q.doc_id for q in questions)
    assert all(per_doc[doc_id] >= 3 for doc_id in ids), per_doc
    assert sum(q.holdout for q in questions) >= 20
    assert len(question_set.out_of_scope) >= 8


def test_recall_meets_the_targets(report: RecallReport) -> None:
    misses = "\n".join(f"{m.question!r}: want {m.expected}, got {m.got}" for m in report.misses)
    assert report.recall_at_1 >= RECALL_AT_1_TARGET, misses
    assert report.recall_at_3 >= RECALL_AT_3_TARGET, misses


def test_the_relevance_threshold_separates_questions_from_off_topic_ones(
    report: RecallReport,
) -> None:
    assert report.found_in_scope >= 0.9
    assert report.rejected_out_of_scope >= 0.8
