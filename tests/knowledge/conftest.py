"""Fixtures of the knowledge-base tests.

The real all-MiniLM-L6-v2 embedder is loaded once per session (the process-wide
instance of ``get_embedder``); the real documents are ingested once per session into a
temporary Chroma directory. Logic tests use ``HashEmbedder``: instant, deterministic,
and it records what it was asked to embed.
"""

from __future__ import annotations

import hashlib
import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from agent.knowledge.documents import KnowledgeDocument, load_documents
from agent.knowledge.embeddings import Embedder, get_embedder
from agent.knowledge.evaluation import QuestionSet, load_questions
from agent.knowledge.ingest import ingest_documents
from agent.knowledge.retriever import PolicyRetriever
from agent.knowledge.store import embedded_client, open_collection
from agent.settings import PROJECT_ROOT

KNOWLEDGE_DIR = PROJECT_ROOT / "knowledge"
QUESTIONS_FILE = Path(__file__).resolve().parent / "retrieval_questions.yaml"
REAL_COLLECTION = "harbor-policy-test"


class HashEmbedder:
    """Deterministic unit vectors from a hash of the text; counts what it embeds."""

    dimension = 32

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        rows = []
        for text in texts:
            digest = hashlib.sha256(text.encode("utf-8")).digest()
            row = np.frombuffer(digest, dtype=np.uint8).astype(np.float32) - 127.5
            rows.append(row / np.linalg.norm(row))
        return np.vstack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)


class OtherHashEmbedder(HashEmbedder):
    """Another embedder (another fingerprint): its vectors must not mix with HashEmbedder's."""


def document_text(
    doc_id: str,
    body: str,
    title: str | None = None,
    version: str = '"1.0"',
    effective_date: str = "2026-01-01",
) -> str:
    title = title or doc_id.replace("-", " ").capitalize()
    return (
        f"---\nid: {doc_id}\ntitle: {title}\nversion: {version}\n"
        f"effective_date: {effective_date}\n---\n\n# {title}\n\n{textwrap.dedent(body).strip()}\n"
    )


@pytest.fixture
def write_doc(tmp_path: Path) -> Callable[..., Path]:
    """Write a document into ``tmp_path / "knowledge"``; returns its path."""
    directory = tmp_path / "knowledge"
    directory.mkdir(exist_ok=True)

    def write(doc_id: str, body: str, filename: str | None = None, **front: str) -> Path:
        path = directory / (filename or f"{doc_id}.md")
        path.write_text(document_text(doc_id, body, **front), encoding="utf-8")
        return path

    return write


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def other_hash_embedder() -> HashEmbedder:
    return OtherHashEmbedder()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real local embedder, loaded once for the whole session (about 10 s)."""
    return get_embedder("local")


@pytest.fixture(scope="session")
def real_documents() -> list[KnowledgeDocument]:
    return load_documents(KNOWLEDGE_DIR)


@pytest.fixture(scope="session")
def question_set() -> QuestionSet:
    return load_questions(QUESTIONS_FILE)


@pytest.fixture(scope="session")
def real_retriever(
    tmp_path_factory: pytest.TempPathFactory,
    real_documents: list[KnowledgeDocument],
    embedder: Embedder,
) -> PolicyRetriever:
    """The real documents ingested once into a temporary embedded Chroma."""
    client = embedded_client(tmp_path_factory.mktemp("chroma-real"))
    ingest_documents(real_documents, client, REAL_COLLECTION, embedder)
    return PolicyRetriever(open_collection(client, REAL_COLLECTION, embedder), embedder)
