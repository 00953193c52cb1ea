"""``loan-agent train languages`` and ``loan-agent language-report``: the per-language
escalation and intent models of issue #13.

The report loads each artifact (sha256 checked) and scores the items again: the
escalation model through the served :class:`~agent.guardrails.language_escalation.
LanguageEscalationModel` on the holdout file, the intent model on its test split with the
card's act threshold. (The intent artifacts are found by path: nothing outside
``agent/engine`` imports the offline engine.)
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

import agent
from agent.learning.language_training import (
    LANGUAGES,
    SEED,
    CorpusError,
    format_escalation,
    format_intents,
)

PROJECT = Path(agent.__file__).resolve().parent.parent
INTENT_MODELS = Path(agent.__file__).resolve().parent / "engine" / "offline" / "models"


def intent_artifact(language: str) -> Path:
    """Where :mod:`agent.engine.offline.language_intents` loads the language's model."""
    return INTENT_MODELS / f"intent.{language}.npz"


def _languages(chosen: tuple[str, ...]) -> list[str]:
    return list(chosen) or sorted(LANGUAGES)


@click.command("languages")
@click.option(
    "--language",
    "languages",
    type=click.Choice(sorted(LANGUAGES)),
    multiple=True,
    help="Only this language (repeatable; default: all).",
)
@click.option("--seed", type=int, default=SEED, show_default=True, help="Split and fit seed.")
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the artifacts here instead of the packaged model folders.",
)
def train_languages(languages: tuple[str, ...], seed: int, out_dir: Path | None) -> None:
    """Train the Chinese and Spanish escalation and intent models (deterministic)."""
    from agent.guardrails.language_escalation import artifact_path
    from agent.learning.language_training import train_escalation, train_intents

    started = time.perf_counter()
    for language in _languages(languages):
        escalation = out_dir / f"escalation.{language}.npz" if out_dir else None
        intents = out_dir / f"intent.{language}.npz" if out_dir else None
        try:
            # the intent model first: the escalation model takes its second opinion
            intents = intents or intent_artifact(language)
            card = train_intents(PROJECT, language, intents, seed=seed, log=click.echo)
            click.echo(format_intents(card["report"]["test"], f"{language} intents, test split"))
            card = train_escalation(
                PROJECT,
                language,
                escalation or artifact_path(language),
                seed=seed,
                intent_artifact=intents,
                log=click.echo,
            )
            click.echo(
                format_escalation(
                    card["report"]["holdout"],
                    f"{language} escalation, holdout",
                    mistakes=False,  # the holdout's texts are not shown
                )
            )
        except CorpusError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"trained in {time.perf_counter() - started:.1f} s")


@click.command("language-report")
@click.option(
    "--language",
    "languages",
    type=click.Choice(sorted(LANGUAGES)),
    multiple=True,
    help="Only this language (repeatable; default: all).",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the figures (with every mistake) to this JSON file.",
)
def language_report(languages: tuple[str, ...], json_file: Path | None) -> None:
    """Per language: escalation on the holdout file, intents on the test split (scored
    again from the served artifacts)."""
    result = {}
    for language in _languages(languages):
        result[language] = language_figures(language)
        escalation, intents = result[language]["escalation"], result[language]["intents"]
        click.echo(
            format_escalation(
                escalation["holdout"],
                f"== {language} escalation on {escalation['holdout_file']} (never trained or "
                f"tuned on); threshold {escalation['threshold']:.3f} from validation, "
                f"seed {escalation['seed']}, {escalation['ms_per_message']} ms per message",
            )
        )
        click.echo(
            format_intents(
                intents["test"],
                f"== {language} intents on the test split (seed {intents['seed']}); act "
                f"threshold {intents['act_threshold']:.3f} from validation; out-of-scope "
                f"class: {'yes' if intents['out_of_scope'] else 'no'}",
            )
        )
        for name, card in (("escalation", escalation), ("intents", intents)):
            click.echo(f"  {name} sha256 {card['sha256'][:16]}…; rebuild: {card['rebuild']}")
        click.echo("")
    if json_file is not None:
        json_file.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
        click.echo(f"report written to {json_file}")


def language_figures(language: str) -> dict[str, dict]:
    """Both models of ``language`` scored again from their artifacts."""
    import numpy as np

    from agent.guardrails.language_escalation import LanguageEscalationModel
    from agent.learning.language_training import (
        HOLDOUT_FILE,
        holdout_items,
        intent_corpus,
        measure_escalation,
        measure_intents,
    )
    from agent.learning.ngram_classifier import NgramClassifier

    model = LanguageEscalationModel.load(language)
    holdout = holdout_items(PROJECT, language)
    verdicts = model.verdicts([i.text for i in holdout])
    timings = []
    for item in holdout[:50]:
        started = time.perf_counter()
        model.verdict(item.text)
        timings.append(1000 * (time.perf_counter() - started))
    escalation = {
        "holdout_file": f"training/languages/{language}/{HOLDOUT_FILE}",
        "holdout": measure_escalation(holdout, verdicts),
        "threshold": model.threshold,
        "seed": model.card["seed"],
        "sha256": model.card["sha256"],
        "rebuild": model.card["rebuild"],
        "ms_per_message": round(float(np.median(timings)), 3),
    }
    intent_model = NgramClassifier.load(intent_artifact(language), "intent")
    card = intent_model.card
    test = [i for i in intent_corpus(PROJECT, language, int(card["seed"])) if i.split == "test"]
    intents = {
        "test": measure_intents(
            test,
            intent_model.probabilities([i.text for i in test]),
            intent_model.classes,
            float(card["act_threshold"]),
        ),
        "act_threshold": float(card["act_threshold"]),
        "out_of_scope": "out_of_scope" in intent_model.classes,
        "seed": card["seed"],
        "sha256": card["sha256"],
        "rebuild": card["rebuild"],
    }
    return {"escalation": escalation, "intents": intents}


def add_language_commands(main: click.Group, train: click.Group) -> None:
    """Register ``train languages`` and ``language-report`` (called by :mod:`agent.cli`)."""
    train.add_command(train_languages)
    main.add_command(language_report)
