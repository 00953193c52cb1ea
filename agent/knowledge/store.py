"""The Chroma side of the knowledge base: client from settings, collection, embeddings.

Chroma runs embedded (a persistent directory, ``settings.chroma_path``) by default, or
as a server (``chroma_mode="server"``, ``chroma_host``, ``chroma_port``). Vectors are
written through ``langchain-chroma`` with our own embedder wrapped as a LangChain
``Embeddings``; Chroma never embeds anything itself (no model download).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from agent.knowledge.embeddings import (
    MINILM_SHA256,
    Embedder,
    LocalMiniLM,
    OpenAICompatibleEmbedder,
)

EMBEDDER_KEY = "embedder"  # collection metadata: which embedder wrote the vectors
SPACE = "cosine"


class KnowledgeStoreError(RuntimeError):
    """The knowledge collection is missing, unreachable, or built with another embedder."""


class EmbedderEmbeddings(Embeddings):
    """Our :class:`Embedder` as a LangChain ``Embeddings``."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self.embedder.embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed([text])[0].tolist()


def embedder_fingerprint(embedder: Embedder) -> str:
    """A stable name for the vectors an embedder produces (stored on the collection)."""
    if isinstance(embedder, LocalMiniLM):
        return f"local:all-MiniLM-L6-v2:{MINILM_SHA256[:16]}"
    if isinstance(embedder, OpenAICompatibleEmbedder):
        return f"openai:{embedder._model}"
    return f"{type(embedder).__module__}.{type(embedder).__qualname__}"


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False)


def client_from_settings(settings: Any) -> ClientAPI:
    """An embedded (persistent) or server Chroma client, as the settings say."""
    if settings.chroma_mode == "server":
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=_chroma_settings()
            )
        except Exception as exc:  # connection refused, bad host, ...
            raise KnowledgeStoreError(
                f"Chroma server at {settings.chroma_host}:{settings.chroma_port} is not "
                f"reachable: {exc}"
            ) from exc
    return embedded_client(Path(settings.chroma_path))


def embedded_client(path: Path) -> ClientAPI:
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())


def collection_exists(client: ClientAPI, name: str) -> bool:
    return any(c.name == name for c in client.list_collections())


def open_vectorstore(client: ClientAPI, name: str, embedder: Embedder) -> Chroma:
    """The LangChain vector store over collection ``name``, created if missing."""
    return Chroma(
        client=client,
        collection_name=name,
        embedding_function=EmbedderEmbeddings(embedder),
        collection_metadata={EMBEDDER_KEY: embedder_fingerprint(embedder)},
        collection_configuration={"hnsw": {"space": SPACE}},
    )


def stored_fingerprint(collection: Collection) -> str | None:
    metadata = collection.metadata or {}
    value = metadata.get(EMBEDDER_KEY)
    return str(value) if value is not None else None


def open_collection(client: ClientAPI, name: str, embedder: Embedder) -> Collection:
    """The existing collection ``name``, checked to hold this embedder's vectors."""
    if not collection_exists(client, name):
        raise KnowledgeStoreError(
            f"the knowledge collection '{name}' does not exist: run `loan-agent ingest` first"
        )
    collection = client.get_collection(name)
    expected = embedder_fingerprint(embedder)
    found = stored_fingerprint(collection)
    if found != expected:
        raise KnowledgeStoreError(
            f"the knowledge collection '{name}' holds vectors of {found!r}, but the configured "
            f"embedder is {expected!r}: run `loan-agent ingest` to rebuild it"
        )
    return collection
