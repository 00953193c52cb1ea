"""``loan-agent guardrails-report``: the escalation classifier and the injection detector
scored on the labelled sets, printed as a table (and optionally written as JSON)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from agent.settings import PROJECT_ROOT

LABELLED = PROJECT_ROOT / "tests" / "guardrails" / "escalation_labelled.yaml"
HOLDOUT = PROJECT_ROOT / "tests" / "guardrails" / "escalation_holdout.yaml"
INJECTION = PROJECT_ROOT / "tests" / "guardrails" / "injection_labelled.yaml"

# Fresh sentences (not in any labelled set, so not in the embedder's cache) for timing.
_LATENCY_PROBES = (
    "could you tell me when the next installment is due on my account",
    "I was wondering whether it is possible to pay a little later this month",
    "my neighbour said you can move the due date, is that right",
    "please send the payment link to my email address instead",
    "what would the payoff be if I paid everything at the end of next week",
)


def measure_latency(classifier: object, probes: tuple[str, ...] = _LATENCY_PROBES) -> float:
    """Median milliseconds for one short, never-seen message (model already loaded)."""
    timings = []
    for text in probes:
        started = time.perf_counter()
        classifier.classify(f"{text} ({time.time_ns()})")  # type: ignore[attr-defined]
        timings.append(1000 * (time.perf_counter() - started))
    return round(sorted(timings)[len(timings) // 2], 1)


@click.command("guardrails-report")
@click.option(
    "--labelled",
    type=click.Path(exists=True, path_type=Path),
    default=LABELLED,
    show_default=True,
    help="Labelled escalation messages (the development set).",
)
@click.option(
    "--holdout",
    type=click.Path(path_type=Path),
    default=HOLDOUT,
    show_default=True,
    help="Held-out escalation messages (skipped when missing).",
)
@click.option(
    "--injection",
    type=click.Path(path_type=Path),
    default=INJECTION,
    show_default=True,
    help="Labelled injection attacks and benign look-alikes.",
)
@click.option("--lexicon-only", is_flag=True, help="Score without the embedding model.")
@click.option(
    "--json",
    "json_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the full report (with every mistake) to this JSON file.",
)
def guardrails_report(
    labelled: Path, holdout: Path, injection: Path, lexicon_only: bool, json_file: Path | None
) -> None:
    """Per-reason precision/recall, false escalations, injection detection rates."""
    from agent.guardrails.escalation import EscalationClassifier
    from agent.guardrails.report import escalation_report, format_report, load_items
    from agent.policy.config import load_policy
    from agent.settings import get_settings

    settings = get_settings()
    embedder = None
    if not lexicon_only:
        from agent.knowledge.embeddings import embedder_from_settings

        embedder = embedder_from_settings(settings)
    started = time.perf_counter()
    classifier = EscalationClassifier(
        embedder, load_policy(settings.policy_file), settings.prompts_dir / "escalation"
    )
    build_seconds = round(time.perf_counter() - started, 2)

    injection_items = load_items(injection) if injection.exists() else None
    result: dict[str, object] = {
        "classifier": {"embeddings": embedder is not None, "build_seconds": build_seconds},
        "labelled": escalation_report(
            classifier, load_items(labelled), injection_items=injection_items
        ),
    }
    click.echo(f"== {labelled}")
    click.echo(format_report(result["labelled"]))  # type: ignore[arg-type]
    if holdout.exists():
        result["holdout"] = escalation_report(classifier, load_items(holdout))
        click.echo(f"\n== {holdout} (never tuned on)")
        click.echo(format_report(result["holdout"]))  # type: ignore[arg-type]
    latency = measure_latency(classifier)
    result["classifier"]["ms_per_short_message"] = latency  # type: ignore[index]
    click.echo(f"\nclassifier built in {build_seconds} s; one short new message: {latency} ms")
    if json_file is not None:
        json_file.write_text(json.dumps(result, indent=2), encoding="utf-8")
        click.echo(f"report written to {json_file}")
