"""Idempotent ingestion of the policy documents into Chroma.

Every document is validated before anything is written. Chunks are keyed by a hash of
their content and citation: unchanged chunks are kept (not embedded again), new or
edited ones are embedded and added, and chunks that no longer exist (an edited
section's old text, a removed document) are deleted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chromadb.api import ClientAPI

from agent.knowledge.chunking import Chunk, chunk_documents
from agent.knowledge.documents import KnowledgeDocument, load_documents
from agent.knowledge.embeddings import Embedder, embedder_from_settings
from agent.knowledge.store import (
    client_from_settings,
    collection_exists,
    embedder_fingerprint,
    open_vectorstore,
    stored_fingerprint,
)

BATCH_SIZE = 256


@dataclass
class IngestReport:
    collection: str
    documents: int
    added: list[Chunk] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    removed_doc_ids: list[str] = field(default_factory=list)
    rebuilt: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.rebuilt)

    def __str__(self) -> str:
        return self.lines()[0]

    def lines(self) -> list[str]:
        out = [
            f"collection '{self.collection}': {self.documents} documents, "
            f"{len(self.added)} chunks added, {len(self.kept)} kept, "
            f"{len(self.removed)} removed"
        ]
        if self.rebuilt:
            out.append("  rebuilt: the collection held vectors of another embedder")
        for doc_id, count in sorted(Counter(c.doc_id for c in self.added).items()):
            out.append(f"  + {doc_id}: {count} chunk(s)")
        for doc_id, count in sorted(Counter(self.removed_doc_ids).items()):
            out.append(f"  - {doc_id}: {count} chunk(s)")
        return out


def ingest_documents(
    documents: Sequence[KnowledgeDocument],
    client: ClientAPI,
    collection_name: str,
    embedder: Embedder,
) -> IngestReport:
    """Make the collection hold exactly the chunks of ``documents``."""
    chunks = chunk_documents(documents)
    report = IngestReport(collection=collection_name, documents=len(documents))

    if collection_exists(client, collection_name):
        existing_collection = client.get_collection(collection_name)
        if stored_fingerprint(existing_collection) != embedder_fingerprint(embedder):
            client.delete_collection(collection_name)
            report.rebuilt = True

    store = open_vectorstore(client, collection_name, embedder)
    stored = store.get(include=["metadatas"])
    stored_doc = {
        chunk_id: str((meta or {}).get("doc_id", "?"))
        for chunk_id, meta in zip(stored["ids"], stored["metadatas"], strict=True)
    }
    wanted = {chunk.chunk_id: chunk for chunk in chunks}

    report.kept = sorted(set(stored_doc) & set(wanted))
    report.added = [c for c in chunks if c.chunk_id not in stored_doc]
    report.removed = sorted(set(stored_doc) - set(wanted))
    report.removed_doc_ids = [stored_doc[chunk_id] for chunk_id in report.removed]

    for start in range(0, len(report.added), BATCH_SIZE):
        batch = report.added[start : start + BATCH_SIZE]
        store.add_texts(
            texts=[c.embedding_text() for c in batch],
            metadatas=[c.metadata() for c in batch],
            ids=[c.chunk_id for c in batch],
        )
    if report.removed:
        store.delete(ids=report.removed)
    return report


def ingest_from_settings(settings: Any, embedder: Embedder | None = None) -> IngestReport:
    """Validate every document of ``settings.knowledge_dir``, then ingest them."""
    documents = load_documents(settings.knowledge_dir)  # raises before anything is written
    embedder = embedder or embedder_from_settings(settings)
    client = client_from_settings(settings)
    return ingest_documents(documents, client, settings.chroma_collection, embedder)
