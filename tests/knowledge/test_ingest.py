from __future__ import annotations

from pathlib import Path

import pytest

from agent.knowledge.chunking import chunk_documents
from agent.knowledge.documents import KnowledgeDocumentError, load_documents
from agent.knowledge.ingest import ingest_documents, ingest_from_settings
from agent.knowledge.store import embedded_client
from agent.settings import Settings

COLLECTION = "policy-test"


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        knowledge_dir=tmp_path / "knowledge",
        chroma_collection=COLLECTION,
        environment="test",
    )


def _stored(settings: Settings) -> dict[str, dict]:
    collection = embedded_client(Path(settings.chroma_path)).get_collection(COLLECTION)
    got = collection.get(include=["metadatas"])
    return dict(zip(got["ids"], got["metadatas"], strict=True))


@pytest.fixture
def two_docs(write_doc) -> None:
    write_doc("fees", "## Late fee\nA late fee applies.\n\n## Waiver\nAsk us.", title="Fees")
    write_doc("hours", "## Phone\nCall us on weekdays.", title="Hours")


@pytest.mark.usefixtures("two_docs")
def test_ingestion_is_idempotent_and_embeds_only_what_changed(
    tmp_path: Path, hash_embedder, write_doc
) -> None:
    settings = _settings(tmp_path)
    first = ingest_from_settings(settings, embedder=hash_embedder)
    assert len(first.added) == 3 and not first.kept and not first.removed
    assert len(hash_embedder.embedded) == 3

    hash_embedder.embedded.clear()
    second = ingest_from_settings(settings, embedder=hash_embedder)
    assert not second.added and not second.removed and len(second.kept) == 3
    assert not second.changed
    assert hash_embedder.embedded == []

    write_doc("fees", "## Late fee\nA late fee applies.\n\n## Waiver\nAsk us nicely.", title="Fees")
    third = ingest_from_settings(settings, embedder=hash_embedder)
    assert [c.section for c in third.added] == ["Fees > Waiver"]
    assert len(third.removed) == 1 and len(third.kept) == 2
    assert third.removed_doc_ids == ["fees"]
    assert len(hash_embedder.embedded) == 1 and "Ask us nicely." in hash_embedder.embedded[0]
    assert set(_stored(settings)) == {
        c.chunk_id for c in chunk_documents(load_documents(settings.knowledge_dir))
    }


@pytest.mark.usefixtures("two_docs")
def test_a_removed_document_loses_all_its_chunks(tmp_path: Path, hash_embedder) -> None:
    settings = _settings(tmp_path)
    ingest_from_settings(settings, embedder=hash_embedder)
    (settings.knowledge_dir / "fees.md").unlink()
    report = ingest_from_settings(settings, embedder=hash_embedder)
    assert report.removed_doc_ids == ["fees", "fees"]
    assert {m["doc_id"] for m in _stored(settings).values()} == {"hours"}
    assert "  - fees: 2 chunk(s)" in report.lines()


@pytest.mark.usefixtures("two_docs")
def test_each_stored_chunk_carries_its_citation(tmp_path: Path, hash_embedder) -> None:
    settings = _settings(tmp_path)
    ingest_from_settings(settings, embedder=hash_embedder)
    for chunk_id, meta in _stored(settings).items():
        assert chunk_id == f"{meta['doc_id']}:{meta['content_hash']}"
        assert meta["title"] in ("Fees", "Hours")
        assert meta["section"].startswith(meta["title"])
        assert meta["version"] == "1.0"
        assert meta["source"].endswith(".md")


@pytest.mark.usefixtures("two_docs")
def test_one_bad_document_stops_the_whole_ingestion(
    tmp_path: Path, hash_embedder, write_doc
) -> None:
    settings = _settings(tmp_path)
    ingest_from_settings(settings, embedder=hash_embedder)
    before = _stored(settings)
    write_doc("new-topic", "## New\nA brand new valid document.")
    (settings.knowledge_dir / "zz-broken.md").write_text(
        "---\nid: [\n---\nbody\n", encoding="utf-8"
    )
    hash_embedder.embedded.clear()
    with pytest.raises(KnowledgeDocumentError, match=r"zz-broken\.md"):
        ingest_from_settings(settings, embedder=hash_embedder)
    assert _stored(settings) == before
    assert hash_embedder.embedded == []


@pytest.mark.usefixtures("two_docs")
def test_vectors_of_another_embedder_are_rebuilt_not_mixed(
    tmp_path: Path, hash_embedder, other_hash_embedder
) -> None:
    settings = _settings(tmp_path)
    ingest_from_settings(settings, embedder=hash_embedder)
    other = other_hash_embedder
    report = ingest_from_settings(settings, embedder=other)
    assert report.rebuilt and len(report.added) == 3 and not report.kept
    assert len(other.embedded) == 3
    collection = embedded_client(Path(settings.chroma_path)).get_collection(COLLECTION)
    assert "OtherHashEmbedder" in collection.metadata["embedder"]
    assert collection.count() == 3


def test_ingest_documents_persists_across_clients(tmp_path: Path, write_doc, hash_embedder) -> None:
    write_doc("fees", "## Late fee\nA late fee applies.")
    documents = load_documents(tmp_path / "knowledge")
    ingest_documents(documents, embedded_client(tmp_path / "chroma"), COLLECTION, hash_embedder)
    reopened = embedded_client(tmp_path / "chroma").get_collection(COLLECTION)
    assert reopened.count() == len(chunk_documents(documents))
    assert reopened.configuration["hnsw"]["space"] == "cosine"
