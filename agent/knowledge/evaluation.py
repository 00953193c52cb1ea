"""Retrieval evaluation: recall@1 / recall@3 on labelled questions, and latency.

``run_benchmark`` ingests the real documents into a temporary embedded Chroma, then a
synthetic corpus padded to ``synthetic_chunks`` chunks (the real chunks plus seeded
filler documents), and measures both with the same labelled questions. Latency is
the wall time of ``PolicyRetriever.search`` with the model already loaded:

- ``cold``: the embedder's cache is cleared first, so every question is embedded
  (the honest per-question figure);
- ``warm``: the same questions again (query embedding served from the cache);
- ``embed`` and ``vector_search``: the two parts of a cold search, measured apart.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from agent.knowledge.chunking import chunk_documents
from agent.knowledge.documents import KnowledgeDocument, load_documents
from agent.knowledge.embeddings import Embedder
from agent.knowledge.ingest import ingest_documents
from agent.knowledge.retriever import PolicyRetriever
from agent.knowledge.store import embedded_client, open_collection

RECALL_AT_1_TARGET = 0.85
RECALL_AT_3_TARGET = 0.95
P95_TARGET_MS = 15.0
BENCH_COLLECTION = "retrieval-bench"


@dataclass(frozen=True)
class LabelledQuestion:
    question: str
    doc_id: str
    holdout: bool = False  # written after tuning; reported apart as well


@dataclass(frozen=True)
class QuestionSet:
    questions: list[LabelledQuestion]
    out_of_scope: list[str]

    def all_queries(self) -> list[str]:
        return [q.question for q in self.questions] + list(self.out_of_scope)


def load_questions(path: Path) -> QuestionSet:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    questions = [
        LabelledQuestion(str(item["q"]), str(item["doc"]), bool(item.get("holdout", False)))
        for item in raw["questions"]
    ]
    return QuestionSet(questions, [str(q) for q in raw.get("out_of_scope", [])])


@dataclass
class Miss:
    question: str
    expected: str
    got: list[str]


@dataclass
class RecallReport:
    total: int
    recall_at_1: float
    recall_at_3: float
    found_in_scope: float  # share of labelled questions with found=True
    rejected_out_of_scope: float  # share of off-topic questions with found=False
    holdout_recall_at_1: float = 0.0
    holdout_recall_at_3: float = 0.0
    misses: list[Miss] = field(default_factory=list)


def _share(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def evaluate_recall(retriever: PolicyRetriever, question_set: QuestionSet) -> RecallReport:
    """Document-level recall: is the labelled document the first hit / among the top 3?"""
    at_1 = at_3 = found = held = held_1 = held_3 = 0
    misses: list[Miss] = []
    for item in question_set.questions:
        result = retriever.search(item.question, k=3)
        docs = [hit.doc_id for hit in result.hits]
        first = bool(docs) and docs[0] == item.doc_id
        top3 = item.doc_id in docs
        at_1 += first
        at_3 += top3
        found += result.found
        if item.holdout:
            held += 1
            held_1 += first
            held_3 += top3
        if not first:
            misses.append(Miss(item.question, item.doc_id, docs))
    rejected = sum(not retriever.search(q, k=3).found for q in question_set.out_of_scope)
    total = len(question_set.questions)
    return RecallReport(
        total=total,
        recall_at_1=_share(at_1, total),
        recall_at_3=_share(at_3, total),
        found_in_scope=_share(found, total),
        rejected_out_of_scope=(
            _share(rejected, len(question_set.out_of_scope)) if question_set.out_of_scope else 1.0
        ),
        holdout_recall_at_1=_share(held_1, held),
        holdout_recall_at_3=_share(held_3, held),
        misses=misses,
    )


@dataclass
class Latency:
    samples: int
    p50_ms: float
    p95_ms: float
    mean_ms: float
    max_ms: float


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation), so p95 is an observed sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def summarise(seconds: Sequence[float]) -> Latency:
    ms = [s * 1000.0 for s in seconds]
    return Latency(
        samples=len(ms),
        p50_ms=round(percentile(ms, 0.50), 3),
        p95_ms=round(percentile(ms, 0.95), 3),
        mean_ms=round(statistics.fmean(ms), 3),
        max_ms=round(max(ms), 3),
    )


def _timed(calls: Sequence[Callable[[], object]]) -> list[float]:
    out = []
    for call in calls:
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def _clear_cache(embedder: Embedder) -> bool:
    clear = getattr(embedder, "clear_cache", None)
    if callable(clear):
        clear()
        return True
    return False


def measure_latency(
    retriever: PolicyRetriever, queries: Sequence[str], rounds: int = 3, k: int = 3
) -> dict[str, Latency]:
    embedder = retriever.embedder
    for warm_up in ("warm up: how do I pay", "warm up: late fee", "warm up: due date"):
        retriever.search(warm_up, k=k)
    cold: list[float] = []
    embed: list[float] = []
    search: list[float] = []
    for _ in range(rounds):
        _clear_cache(embedder)
        cold += _timed([lambda q=q: retriever.search(q, k=k) for q in queries])
        _clear_cache(embedder)
        embed += _timed([lambda q=q: retriever.embed_query(q) for q in queries])
        vectors = [retriever.embed_query(q) for q in queries]
        search += _timed([lambda v=v: retriever.search_by_vector(v, k) for v in vectors])
    warm = _timed([lambda q=q: retriever.search(q, k=k) for q in queries for _ in range(rounds)])
    return {
        "cold": summarise(cold),
        "warm": summarise(warm),
        "embed": summarise(embed),
        "vector_search": summarise(search),
    }


_TOPICS = [
    ("branch visits", "our branch lobby", "bring a photo ID to the counter"),
    ("auto insurance", "a car insurance quote", "compare deductibles and coverage"),
    ("savings accounts", "a high-yield savings account", "move money between accounts"),
    ("mortgage rates", "a home mortgage application", "lock a rate with a loan officer"),
    ("travel rewards", "airline miles on a rewards card", "redeem points for flights"),
    ("ATM locations", "a nearby cash machine", "withdraw cash with a debit card"),
    ("wire transfers", "an international wire", "send money to a bank abroad"),
    ("retirement planning", "an individual retirement account", "plan contributions"),
    ("gardening", "a vegetable garden", "water tomatoes in the morning"),
    ("cooking", "a weeknight dinner recipe", "roast vegetables in the oven"),
    ("home repair", "a leaking kitchen faucet", "replace the washer and seal"),
    ("fitness", "a beginner running plan", "stretch before and after a run"),
    ("pet care", "a new puppy", "schedule vaccinations with a vet"),
    ("moving house", "a moving checklist", "update your address with the post office"),
]
_OPENERS = [
    "This note explains", "Customers often ask about", "Here is a short guide to",
    "Our staff can help with", "Before you start with", "A quick overview of",
]  # fmt: skip
_DETAILS = [
    "Keep your receipts in a safe place.", "Ask a staff member if anything is unclear.",
    "Plan ahead and check the details twice.", "Many people find it easier in the morning.",
    "Write down any questions you have.", "Look for the simplest option first.",
    "Set a reminder so you don't forget.", "Compare a few options before deciding.",
]  # fmt: skip


def synthetic_documents(count_chunks: int, seed: int = 7) -> list[KnowledgeDocument]:
    """``count_chunks`` one-section filler documents on unrelated topics (seeded)."""
    rng = random.Random(seed)
    documents = []
    for index in range(count_chunks):
        topic, subject, action = rng.choice(_TOPICS)
        sentences = [f"{rng.choice(_OPENERS)} {subject}: {action}."]
        sentences += rng.sample(_DETAILS, k=3)
        sentences.append(f"Reference note {index} on {topic}.")
        body = f"# Note {index}: {topic}\n\n## {topic.capitalize()}\n\n{' '.join(sentences)}\n"
        documents.append(
            KnowledgeDocument(
                doc_id=f"synthetic-{index:04d}",
                title=f"Note {index}: {topic}",
                version="1",
                effective_date=date(2026, 1, 1),
                body=body,
                path=Path(f"synthetic-{index:04d}.md"),
            )
        )
    return documents


@dataclass
class CorpusReport:
    chunks: int
    recall: RecallReport
    latency: dict[str, Latency]


def bench_corpus(
    documents: Sequence[KnowledgeDocument],
    question_set: QuestionSet,
    embedder: Embedder,
    chroma_dir: Path,
    rounds: int = 3,
) -> CorpusReport:
    client = embedded_client(chroma_dir)
    ingest_documents(documents, client, BENCH_COLLECTION, embedder)
    collection = open_collection(client, BENCH_COLLECTION, embedder)
    retriever = PolicyRetriever(collection, embedder)
    recall = evaluate_recall(retriever, question_set)
    latency = measure_latency(retriever, question_set.all_queries(), rounds=rounds)
    return CorpusReport(chunks=collection.count(), recall=recall, latency=latency)


def _environment(embedder: Embedder) -> dict[str, Any]:
    import torch

    return {
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "torch_threads": torch.get_num_threads(),
        "embedder": type(embedder).__name__,
        "fast_single_text_path": bool(getattr(embedder, "fast_single", False)),
    }


def run_benchmark(
    knowledge_dir: Path,
    questions_path: Path,
    embedder: Embedder,
    synthetic_chunks: int = 1000,
    rounds: int = 3,
) -> dict[str, Any]:
    """Recall and latency on the real corpus and on a ``synthetic_chunks`` corpus."""
    documents = load_documents(knowledge_dir)
    question_set = load_questions(questions_path)
    real_chunks = len(chunk_documents(documents))
    filler = synthetic_documents(max(0, synthetic_chunks - real_chunks))
    with tempfile.TemporaryDirectory(prefix="retrieval-bench-") as tmp:
        real = bench_corpus(documents, question_set, embedder, Path(tmp) / "real", rounds)
        padded = bench_corpus(
            [*documents, *filler], question_set, embedder, Path(tmp) / "padded", rounds
        )
    return {
        "environment": _environment(embedder),
        "questions": len(question_set.questions),
        "out_of_scope_questions": len(question_set.out_of_scope),
        "targets": {
            "recall_at_1": RECALL_AT_1_TARGET,
            "recall_at_3": RECALL_AT_3_TARGET,
            "p95_ms": P95_TARGET_MS,
        },
        "real": asdict(real),
        "synthetic": asdict(padded),
    }
