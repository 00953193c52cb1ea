"""``loan-agent train intents`` and ``loan-agent nlu-report``: the engine's commands.

They live here, in ``agent.engine``, so that ``agent.cli`` need not reach into the
offline engine (nothing outside ``agent/engine`` imports ``agent.engine.offline``).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from agent.settings import PROJECT_ROOT

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
CACHE = PROJECT_ROOT / "var" / "cache" / "intent-embeddings.npz"


@click.command("intents")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=SHARED_DATA,
    show_default=True,
    help="The shared public data (CLINC150, banking77); read at training time only.",
)
@click.option("--seed", type=int, default=None, help="Split seed (default: the committed one).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the artifact (default: the packaged model).",
)
@click.option("--no-cache", is_flag=True, help="Embed everything again (cold run).")
def train_intents(data_dir: Path, seed: int | None, out: Path | None, no_cache: bool) -> None:
    """Train the intent model (deterministic) and write it with its card."""
    from agent.engine.offline.intent_model import DEFAULT_ARTIFACT
    from agent.engine.offline.intent_training import SEED, Paths, train
    from agent.knowledge.embeddings import get_embedder

    if not data_dir.is_dir():
        raise click.ClickException(f"{data_dir}: not found (pass --data-dir)")
    card = train(
        Paths(PROJECT_ROOT, data_dir),
        get_embedder("local"),
        seed=SEED if seed is None else seed,
        cache=None if no_cache else CACHE,
        artifact=out or DEFAULT_ARTIFACT,
        log=click.echo,
    )
    test = card["report"]["test"]["served"]
    click.echo(
        f"test: abstained {test['abstention_rate']:.1%}, accuracy on answered "
        f"{test['accuracy_answered']:.1%} (see `loan-agent nlu-report`)"
    )


@click.command("nlu-report")
@click.option(
    "--artifact",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="The intent model (default: the packaged one).",
)
@click.option("--split", type=click.Choice(["test", "validation"]), default="test")
@click.option("--json", "json_file", type=click.Path(path_type=Path), default=None)
def nlu_report(artifact: Path | None, split: str, json_file: Path | None) -> None:
    """Per-intent precision and recall of the intent model on the untouched test split."""
    from agent.engine.offline.intent_model import DEFAULT_ARTIFACT
    from agent.engine.offline.intent_training import format_report
    from agent.learning.artifacts import load_artifact

    _, card = load_artifact(artifact or DEFAULT_ARTIFACT)  # refuses a tampered file
    click.echo(format_report(card, split))
    click.echo(f"\nartifact sha256 {card['sha256'][:16]}…; rebuild: {card['rebuild']}")
    if json_file is not None:
        json_file.write_text(json.dumps(card["report"], indent=2), encoding="utf-8")
