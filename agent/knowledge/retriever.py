"""Cited retrieval over the policy knowledge base, for the agent's ``search_policy`` tool.

Build one :class:`PolicyRetriever` per process (``PolicyRetriever.from_settings``) and
call :meth:`PolicyRetriever.search` per question: it embeds the question (the shared
embedder, with its cache and fast single-text path) and asks Chroma for the nearest
chunks. Each hit carries what a citation needs (chunk id, document id, title, section,
version). ``found`` is False when even the best hit scores under the relevance
threshold: the agent must then say that no policy answers the question, not guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from chromadb.api.models.Collection import Collection

from agent.knowledge.chunking import embedding_text
from agent.knowledge.embeddings import Embedder, embedder_from_settings
from agent.knowledge.store import client_from_settings, open_collection

# Cosine similarity (all-MiniLM-L6-v2) under which the best hit means "no policy found".
# Chosen on tests/knowledge/retrieval_questions.yaml: at 0.30 about 96% of the labelled
# customer questions are found and 9 of the 10 off-topic ones are rejected (the one
# that passes, "what time does the grocery store close", lands on our opening hours).
# tests/knowledge/test_retrieval_quality.py keeps both rates. Another embedder needs
# its own value.
DEFAULT_MIN_SCORE = 0.30
MAX_K = 20


@dataclass(frozen=True)
class PolicyHit:
    chunk_id: str
    doc_id: str
    title: str
    section: str
    text: str
    score: float  # cosine similarity clipped to [0, 1]; higher is more relevant
    version: str

    def citation(self) -> str:
        return f"{self.section} (version {self.version})"


@dataclass(frozen=True)
class RetrievalResult:
    query: str
    hits: list[PolicyHit] = field(default_factory=list)
    found: bool = False
    min_score: float = DEFAULT_MIN_SCORE

    @property
    def best_score(self) -> float:
        return self.hits[0].score if self.hits else 0.0

    @property
    def chunk_ids(self) -> list[str]:
        return [hit.chunk_id for hit in self.hits]


def _score(distance: float) -> float:
    return float(min(1.0, max(0.0, 1.0 - distance)))


class PolicyRetriever:
    """Nearest policy chunks for a question, with scores and citations."""

    def __init__(
        self, collection: Collection, embedder: Embedder, min_score: float = DEFAULT_MIN_SCORE
    ) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ValueError("min_score must be within [0, 1]")
        self._collection = collection
        self._embedder = embedder
        self.min_score = min_score

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        embedder: Embedder | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
    ) -> PolicyRetriever:
        """Open the ingested collection named by the settings (embedded or server)."""
        embedder = embedder or embedder_from_settings(settings)
        client = client_from_settings(settings)
        collection = open_collection(client, settings.chroma_collection, embedder)
        return cls(collection, embedder, min_score=min_score)

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def embed_query(self, query: str) -> np.ndarray:
        return self._embedder.embed([query])[0]

    def search(self, query: str, k: int = 3) -> RetrievalResult:
        query = " ".join(query.split())
        if not query:
            return RetrievalResult(query=query, min_score=self.min_score)
        hits = self.search_by_vector(self.embed_query(query), k)
        found = bool(hits) and hits[0].score >= self.min_score
        return RetrievalResult(query=query, hits=hits, found=found, min_score=self.min_score)

    def search_by_vector(self, vector: np.ndarray, k: int = 3) -> list[PolicyHit]:
        k = max(1, min(int(k), MAX_K))
        result = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=k,
            include=["documents", "metadatas", "distances"],
        )
        ids = result["ids"][0]
        documents = (result.get("documents") or [[]])[0]
        metadatas = (result.get("metadatas") or [[]])[0]
        distances = (result.get("distances") or [[]])[0]
        hits = []
        for chunk_id, stored, meta, distance in zip(
            ids, documents, metadatas, distances, strict=True
        ):
            meta = meta or {}
            section = str(meta.get("section", ""))
            text = (stored or "").removeprefix(embedding_text(section, ""))
            hits.append(
                PolicyHit(
                    chunk_id=chunk_id,
                    doc_id=str(meta.get("doc_id", "")),
                    title=str(meta.get("title", "")),
                    section=section,
                    text=text,
                    score=_score(float(distance)),
                    version=str(meta.get("version", "")),
                )
            )
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits
