"""``loan-agent ingest`` and ``loan-agent retrieval-bench``.

The main CLI (``agent/cli.py``) adds these commands to its group::

    from agent.knowledge.cli import ingest_command, retrieval_bench_command
    main.add_command(ingest_command)
    main.add_command(retrieval_bench_command)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from agent.settings import PROJECT_ROOT, get_settings

DEFAULT_QUESTIONS = PROJECT_ROOT / "tests" / "knowledge" / "retrieval_questions.yaml"


def _policy_drift(settings: Any, knowledge_dir: Path) -> list[str]:
    from agent.knowledge.consistency import check_documents
    from agent.knowledge.documents import load_documents
    from agent.policy.config import load_policy

    policy = load_policy(settings.policy_file)
    return [str(d) for d in check_documents(load_documents(knowledge_dir), policy)]


@click.command("ingest")
@click.option(
    "--strict/--no-strict",
    default=False,
    help="Refuse to ingest when the documents disagree with the policy config.",
)
def ingest_command(strict: bool) -> None:
    """Load knowledge/ into Chroma: add new chunks, keep unchanged ones, remove stale ones."""
    from agent.knowledge.documents import KnowledgeDocumentError
    from agent.knowledge.ingest import ingest_from_settings
    from agent.knowledge.store import KnowledgeStoreError

    settings = get_settings()
    try:
        drift = _policy_drift(settings, settings.knowledge_dir)
    except KnowledgeDocumentError as exc:
        raise click.ClickException(f"nothing ingested:\n{exc}") from exc
    for line in drift:
        click.echo(f"warning: policy drift: {line}", err=True)
    if drift and strict:
        raise click.ClickException(
            f"nothing ingested: {len(drift)} disagreement(s) with {settings.policy_file}"
        )
    try:
        report = ingest_from_settings(settings)
    except (KnowledgeDocumentError, KnowledgeStoreError) as exc:
        raise click.ClickException(f"nothing ingested:\n{exc}") from exc
    where = (
        f"server {settings.chroma_host}:{settings.chroma_port}"
        if settings.chroma_mode == "server"
        else str(settings.chroma_path)
    )
    click.echo(f"Chroma ({settings.chroma_mode}): {where}")
    for line in report.lines():
        click.echo(line)


def _latency_line(name: str, latency: dict[str, Any]) -> str:
    return (
        f"    {name:<14} p50 {latency['p50_ms']:7.2f} ms   p95 {latency['p95_ms']:7.2f} ms"
        f"   ({latency['samples']} samples)"
    )


@click.command("retrieval-bench")
@click.option(
    "--questions",
    "questions_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_QUESTIONS,
    show_default=True,
    help="Labelled questions (YAML).",
)
@click.option(
    "--synthetic-chunks", default=1000, show_default=True, help="Size of the padded corpus."
)
@click.option("--rounds", default=3, show_default=True, help="Timed passes over the questions.")
@click.option(
    "--torch-threads", type=click.IntRange(min=1), default=None,
    help="torch intra-op threads for the run (default: torch's own, one per core).",
)  # fmt: skip
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also write the full report as JSON to this file.",
)  # fmt: skip
def retrieval_bench_command(
    questions_path: Path,
    synthetic_chunks: int,
    rounds: int,
    torch_threads: int | None,
    json_path: Path | None,
) -> None:
    """Recall@1/@3 and search latency on the real corpus and a padded synthetic corpus."""
    from agent.knowledge.embeddings import embedder_from_settings
    from agent.knowledge.evaluation import run_benchmark

    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)
    settings = get_settings()
    embedder = embedder_from_settings(settings)  # loaded before anything is timed
    report = run_benchmark(
        settings.knowledge_dir, questions_path, embedder, synthetic_chunks, rounds
    )
    env = report["environment"]
    targets = report["targets"]
    click.echo(
        f"{report['questions']} labelled questions, {report['out_of_scope_questions']} "
        f"off-topic; {env['cpu_count']} CPUs, torch threads {env['torch_threads']}, "
        f"load average {env['load_average_1m']}, fast single-text path "
        f"{'on' if env['fast_single_text_path'] else 'off'}"
    )
    click.echo(
        f"targets: recall@1 >= {targets['recall_at_1']}, recall@3 >= {targets['recall_at_3']}, "
        f"p95 <= {targets['p95_ms']} ms"
    )
    for key, label in (("real", "real corpus"), ("synthetic", "synthetic corpus")):
        corpus = report[key]
        recall = corpus["recall"]
        click.echo(f"{label} ({corpus['chunks']} chunks)")
        click.echo(
            f"    recall@1 {recall['recall_at_1']:.3f}   recall@3 {recall['recall_at_3']:.3f}"
            f"   (held-out questions: recall@1 {recall['holdout_recall_at_1']:.3f}, "
            f"recall@3 {recall['holdout_recall_at_3']:.3f})"
        )
        click.echo(
            f"    found (in scope) {recall['found_in_scope']:.3f}   "
            f"rejected (off-topic) {recall['rejected_out_of_scope']:.3f}"
        )
        for name, latency in corpus["latency"].items():
            click.echo(_latency_line(name, latency))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
        click.echo(f"report written to {json_path}")
