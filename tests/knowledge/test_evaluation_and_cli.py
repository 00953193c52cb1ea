from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.knowledge.cli import ingest_command, retrieval_bench_command
from agent.knowledge.evaluation import percentile, run_benchmark, summarise, synthetic_documents
from agent.settings import get_settings


def test_percentiles_are_observed_samples() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0
    latency = summarise([0.001, 0.002, 0.003, 0.010])
    assert latency.samples == 4 and latency.p50_ms == 2.0 and latency.max_ms == 10.0


def test_synthetic_documents_are_seeded_and_distinct() -> None:
    first = synthetic_documents(50)
    assert len(first) == 50
    assert [d.body for d in first] == [d.body for d in synthetic_documents(50)]
    assert len({d.doc_id for d in first}) == 50


TINY_QUESTIONS = (
    "questions:\n"
    "  - {q: how much is the late fee, doc: fees}\n"
    "  - {q: when can i phone you, doc: hours, holdout: true}\n"
    "out_of_scope:\n  - give me a recipe for banana bread\n"
)


@pytest.fixture
def tiny_corpus(tmp_path: Path, write_doc) -> Path:
    write_doc("fees", "## Late fee\nA late fee of $15.00 applies after the grace period.")
    write_doc("hours", "## Phone\nCall us on weekdays during business hours.")
    questions = tmp_path / "questions.yaml"
    questions.write_text(TINY_QUESTIONS, encoding="utf-8")
    return questions


def test_the_benchmark_measures_both_corpora(embedder, tmp_path: Path, tiny_corpus) -> None:
    report = run_benchmark(
        tmp_path / "knowledge", tiny_corpus, embedder, synthetic_chunks=12, rounds=1
    )
    assert report["real"]["chunks"] == 2
    assert report["synthetic"]["chunks"] == 12
    for corpus in ("real", "synthetic"):
        recall = report[corpus]["recall"]
        assert recall["recall_at_1"] == 1.0 and recall["holdout_recall_at_1"] == 1.0
        assert recall["rejected_out_of_scope"] == 1.0
        latency = report[corpus]["latency"]
        assert set(latency) == {"cold", "warm", "embed", "vector_search"}
        assert latency["cold"]["samples"] == 3
        assert 0 < latency["cold"]["p50_ms"] <= latency["cold"]["p95_ms"]


@pytest.fixture
def cli_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LOAN_AGENT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LOAN_AGENT_KNOWLEDGE_DIR", str(tmp_path / "knowledge"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_ingest_command_prints_added_kept_and_removed(cli_settings, write_doc, embedder) -> None:
    write_doc("fees", "## Late fee\nA late fee applies.\n\n## Waiver\nAsk us.")
    runner = CliRunner()
    first = runner.invoke(ingest_command, [])
    assert first.exit_code == 0, first.output
    assert "2 chunks added, 0 kept, 0 removed" in first.output
    assert "+ fees: 2 chunk(s)" in first.output

    (cli_settings.knowledge_dir / "fees.md").unlink()
    write_doc("hours", "## Phone\nCall us.")
    second = runner.invoke(ingest_command, [])
    assert second.exit_code == 0, second.output
    assert "1 chunks added, 0 kept, 2 removed" in second.output
    assert "- fees: 2 chunk(s)" in second.output


def test_ingest_command_refuses_bad_documents_and_strict_drift(cli_settings, write_doc) -> None:
    write_doc("fees", "## Late fee\nA late fee of $25.00 applies.")
    runner = CliRunner()
    strict = runner.invoke(ingest_command, ["--strict"])
    assert strict.exit_code != 0
    assert "policy drift" in strict.output and "nothing ingested" in strict.output
    assert not (cli_settings.data_dir / "chroma").exists()

    (cli_settings.knowledge_dir / "broken.md").write_bytes(b"\xff\xfe not text")
    broken = runner.invoke(ingest_command, [])
    assert broken.exit_code != 0
    assert "broken.md" in broken.output and "nothing ingested" in broken.output


def test_retrieval_bench_command_prints_and_writes_json(
    cli_settings, embedder, tmp_path: Path, tiny_corpus
) -> None:
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        retrieval_bench_command,
        ["--questions", str(tiny_corpus), "--synthetic-chunks", "10", "--rounds", "1",
         "--json", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "recall@1 1.000" in result.output
    assert "synthetic corpus (10 chunks)" in result.output
    assert "p95" in result.output
    data = json.loads(out.read_text())
    assert data["synthetic"]["chunks"] == 10
    assert data["real"]["recall"]["recall_at_3"] == 1.0
