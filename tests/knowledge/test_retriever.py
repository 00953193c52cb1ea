from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.knowledge.ingest import ingest_from_settings
from agent.knowledge.retriever import DEFAULT_MIN_SCORE, PolicyHit, PolicyRetriever
from agent.knowledge.store import KnowledgeStoreError
from agent.settings import Settings


def test_a_policy_question_gets_cited_hits(real_retriever: PolicyRetriever) -> None:
    result = real_retriever.search("how much is the late fee?", k=3)
    assert result.found
    assert len(result.hits) == 3
    top = result.hits[0]
    assert isinstance(top, PolicyHit)
    assert top.doc_id == "late-fees-and-waivers"
    assert top.title == "Late fees and fee waivers"
    assert top.section.startswith("Late fees and fee waivers > ")
    assert top.version == "1.0"
    assert top.chunk_id.startswith("late-fees-and-waivers:")
    assert "$15.00" in " ".join(h.text for h in result.hits if h.doc_id == top.doc_id)
    assert not top.text.startswith(top.section)  # the stored heading prefix is removed
    assert result.chunk_ids == [h.chunk_id for h in result.hits]


def test_scores_are_similarities_in_the_unit_interval_best_first(real_retriever) -> None:
    hits = real_retriever.search("can I move my due date to the 15th", k=5).hits
    scores = [h.score for h in hits]
    assert len(hits) == 5
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert hits[0].doc_id == "due-date-change"
    vector = real_retriever.embed_query("can I move my due date to the 15th")
    assert [h.chunk_id for h in real_retriever.search_by_vector(vector, 5)] == [
        h.chunk_id for h in hits
    ]


def test_an_off_topic_question_finds_no_policy(real_retriever) -> None:
    result = real_retriever.search("give me a recipe for banana bread", k=3)
    assert not result.found
    assert result.best_score < DEFAULT_MIN_SCORE


def test_an_empty_question_finds_nothing(real_retriever) -> None:
    result = real_retriever.search("   \n ")
    assert not result.found and result.hits == []


def test_the_threshold_decides_found(real_retriever) -> None:
    strict = PolicyRetriever(real_retriever._collection, real_retriever.embedder, min_score=0.99)
    result = strict.search("how much is the late fee?")
    assert result.hits and not result.found
    with pytest.raises(ValueError):
        PolicyRetriever(real_retriever._collection, real_retriever.embedder, min_score=1.5)


def test_k_is_bounded(real_retriever) -> None:
    assert len(real_retriever.search("late fee", k=0).hits) == 1
    assert len(real_retriever.search("late fee", k=1000).hits) == 20


def test_from_settings_opens_the_ingested_embedded_collection(
    tmp_path: Path, write_doc, embedder
) -> None:
    write_doc("fees", "## Late fee\nA late fee of $15.00 applies after the grace period.")
    write_doc("hours", "## Phone\nCall us on weekdays during business hours.")
    settings = Settings(
        data_dir=tmp_path / "var", knowledge_dir=tmp_path / "knowledge", environment="test"
    )
    ingest_from_settings(settings, embedder=embedder)
    retriever = PolicyRetriever.from_settings(settings, embedder=embedder)
    assert retriever.search("what is the late fee").hits[0].doc_id == "fees"
    assert retriever.search("when can I phone you").hits[0].doc_id == "hours"


def test_from_settings_without_an_ingested_collection_says_what_to_do(
    tmp_path: Path, hash_embedder
) -> None:
    settings = Settings(data_dir=tmp_path / "var", environment="test")
    with pytest.raises(KnowledgeStoreError, match="loan-agent ingest"):
        PolicyRetriever.from_settings(settings, embedder=hash_embedder)


def test_a_collection_of_another_embedder_is_refused(
    tmp_path: Path, write_doc, hash_embedder, other_hash_embedder
) -> None:
    write_doc("fees", "## Late fee\nA late fee applies.")
    settings = Settings(
        data_dir=tmp_path / "var", knowledge_dir=tmp_path / "knowledge", environment="test"
    )
    ingest_from_settings(settings, embedder=hash_embedder)
    with pytest.raises(KnowledgeStoreError, match="rebuild"):
        PolicyRetriever.from_settings(settings, embedder=other_hash_embedder)


def test_the_fast_single_text_path_matches_the_batch_path(embedder) -> None:
    if not getattr(embedder, "fast_single", False):
        pytest.skip("the traced single-text encoder is not available with this torch")
    texts = ["can i skip a payment", "I lost my job last week and I can't pay this month."]
    embedder.clear_cache()
    single = np.vstack([embedder.embed([t]) for t in texts])
    embedder.clear_cache()
    batch = embedder.embed(texts)
    assert np.allclose(single, batch, atol=1e-5)
