"""``loan-agent guardrails-report``: the escalation classifier and the injection detector
scored on the labelled sets, printed as a table (and optionally written as JSON)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from agent.guardrails.report import format_split_report
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
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="The shared public data, for the model's untouched test split "
    "(default: ../shared/data; skipped with a note when absent).",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the full report (with every mistake) to this JSON file.",
)
def guardrails_report(
    labelled: Path,
    holdout: Path,
    injection: Path,
    lexicon_only: bool,
    data_dir: Path | None,
    json_file: Path | None,
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
    if classifier.model is not None:
        result["test_split"] = _test_split(classifier, settings, data_dir or SHARED_DATA)
    latency = measure_latency(classifier)
    result["classifier"]["ms_per_short_message"] = latency  # type: ignore[index]
    click.echo(f"\nclassifier built in {build_seconds} s; one short new message: {latency} ms")
    if json_file is not None:
        json_file.write_text(json.dumps(result, indent=2), encoding="utf-8")
        click.echo(f"report written to {json_file}")


SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
EMBEDDING_CACHE = PROJECT_ROOT / "var" / "cache" / "escalation-embeddings.npz"


def _lexicon_reason(policy):
    from agent.guardrails.escalation import EscalationClassifier

    lexicon = EscalationClassifier(None, policy)

    def reason(text: str) -> str | None:
        verdict = lexicon.classify(text)
        return verdict.reason.value if verdict else None

    return reason


@click.command("escalation")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=SHARED_DATA,
    show_default=True,
    help="The shared public data (complaint narratives, banking77, CLINC150).",
)
@click.option("--seed", type=int, default=None, help="Split seed (default: the fixed one).")
@click.option("--c", "c", type=float, default=16.0, show_default=True, help="Inverse L2 strength.")
@click.option(
    "--max-false-rate",
    type=float,
    default=0.02,
    show_default=True,
    help="False escalations allowed on the validation split when choosing thresholds.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the artifact (default: the one the product loads).",
)
def train_escalation(
    data_dir: Path, seed: int | None, c: float, max_false_rate: float, output: Path | None
) -> None:
    """Train the escalation model; thresholds from validation, figures from test."""
    from agent.guardrails.escalation_model import DEFAULT_ARTIFACT
    from agent.guardrails.escalation_training import SEED, CorpusError, Paths, train
    from agent.knowledge.embeddings import get_embedder
    from agent.policy.config import load_policy
    from agent.settings import get_settings

    settings = get_settings()
    try:
        card = train(
            Paths(PROJECT_ROOT, data_dir.resolve()),
            get_embedder("local"),
            _lexicon_reason(load_policy(settings.policy_file)),
            seed=SEED if seed is None else seed,
            c=c,
            max_false_rate=max_false_rate,
            cache=EMBEDDING_CACHE,
            artifact=output or DEFAULT_ARTIFACT,
            log=click.echo,
        )
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(format_split_report(card["report"]["test"], f"test split (seed {card['seed']})"))


def _test_split(classifier, settings, data_dir: Path) -> dict[str, object] | None:
    """The served classifier on the model's test split (the split's seed is the card's)."""
    from agent.guardrails.escalation_training import CorpusError, Paths, corpus
    from agent.guardrails.report import split_report
    from agent.policy.config import load_policy

    seed = int(classifier.model.card["seed"])
    try:
        items = corpus(
            Paths(PROJECT_ROOT, data_dir.resolve()),
            seed,
            _lexicon_reason(load_policy(settings.policy_file)),
        )
    except CorpusError as exc:
        click.echo(f"\n(test split skipped: {exc})")
        return None
    report = split_report(classifier, [i for i in items if i.split == "test"])
    click.echo("")
    click.echo(format_split_report(report, f"model test split, never tuned on (seed {seed})"))
    return report
