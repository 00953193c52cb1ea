"""Training and measuring the per-language models of issue #13 (``loan-agent train
languages`` and ``loan-agent language-report``): for each language in
``training/languages/<lang>/``, an escalation model and an intent model, both
:mod:`agent.learning.ngram_classifier` models (the MiniLM embedding reads English only).

Intents (trained first)
    Items: every ``intents*.yaml`` of the language (``intents.yaml``,
    ``intents_more.yaml``: intent -> utterances), split train 70 % / validation 15 % /
    test 15 %. C and the act threshold (the top intent's probability from which the
    engine acts rather than asks) are chosen on validation: the lowest threshold at which
    the answered validation items are right at least 95 % of the time. The test split is
    scored once, afterwards.

Escalation
    Items: every ``escalation*.yaml`` of the language except ``escalation_holdout.yaml``,
    and the utterances of every ``intents*.yaml`` as ``none`` (routine requests in many
    wordings: the look-alikes that matter most). Split by
    :func:`~agent.learning.splits.split_of` into train 80 % / validation 20 % (with the
    same key and seed, every intent training item is an escalation training item: the
    intent model has seen no escalation validation item). The model is fitted on train.
    The score is ``1 - P(none)``, discounted by a second opinion: the language's intent
    model, ``score * (1 - weight * P(top intent))`` (a message the intent model reads
    confidently as a routine request needs a higher ``1 - P(none)`` to reach a person).
    C, the weight (0 = no second opinion) and the threshold are chosen on validation: the
    fewest false escalations at a recall of needs-a-person of at least 97 %. The holdout
    file is scored once, afterwards, and never trained or tuned on; its figures go to the
    card.

Everything is deterministic: fixed seed, splits by the items' own text, lbfgs.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import sklearn
import yaml
from sklearn.metrics import roc_auc_score

from agent.learning.metrics import per_class, ratio
from agent.learning.ngram_classifier import (
    FeatureSpec,
    NgramClassifier,
    fit,
    save,
    threshold_for_accuracy,
    threshold_for_recall,
)
from agent.learning.splits import Split, split_of

SEED = 20261213
REBUILD = "loan-agent train languages"
ESCALATION_FRACTIONS = (0.8, 0.2, 0.0)  # train / validation; the holdout file is the test
INTENT_FRACTIONS = (0.7, 0.15, 0.15)
RECALL_TARGET = 0.97  # of needs-a-person, on validation
ACCURACY_TARGET = 0.95  # of the intents acted on, on validation
SHORT_CHARS = 200
NONE_LABEL = "none"
# The classes in order of precedence (where several reasons fit, the data is labelled
# with the first; an exact tie of probabilities goes to the first, too).
PRECEDENCE = (
    "vulnerability",
    "legal",
    "fraud",
    "dispute",
    "hardship",
    "complaint",
    "human_request",
)
ESCALATION_CLASSES = (*PRECEDENCE, NONE_LABEL)
HOLDOUT_FILE = "escalation_holdout.yaml"


@dataclass(frozen=True)
class LanguageConfig:
    """What each language's models read (chosen on validation data during development:
    5-fold cross-validation on the training files, see the card's ``feature_choice``)."""

    name: str
    escalation_features: FeatureSpec
    intent_features: FeatureSpec
    feature_choice: str
    c_grid: tuple[float, ...] = (10.0, 30.0, 100.0)  # escalation
    intent_c_grid: tuple[float, ...] = (10.0, 30.0, 100.0, 300.0)


# The weights of the intent model's second opinion tried on validation (0: none).
SECOND_OPINION_WEIGHTS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)


LANGUAGES: dict[str, LanguageConfig] = {
    "es": LanguageConfig(
        "Spanish",
        FeatureSpec(chars=(2, 4), analyzer="char_wb", accents="fold", words=True),
        FeatureSpec(chars=(2, 4), analyzer="char_wb", accents="fold", words=True),
        "char_wb 2-4 of the accent-folded text + word 1-2 grams: on 5-fold "
        "cross-validation, at recall 0.97, fewer false escalations than char_wb 2-5 "
        "folded alone, as written + folded, or char (not _wb) n-grams; accents as "
        "written added nothing once folded (customers often type without them)",
    ),
    "zh": LanguageConfig(
        "Chinese (Simplified)",
        FeatureSpec(chars=(1, 2), analyzer="char_wb", accents="keep"),
        FeatureSpec(chars=(1, 2), analyzer="char_wb", accents="keep"),
        "char_wb 1-2 grams (no word segmentation): on 5-fold cross-validation and "
        "validation, fewer false escalations at recall 0.97 than 1-3 or 1-4 grams, and "
        "better intent abstention",
    ),
}


class CorpusError(ValueError):
    """A data file is missing or malformed (the message names the file and the field)."""


@dataclass(frozen=True)
class Item:
    text: str
    label: str
    source: str
    split: Split


def language_dir(project: Path, language: str) -> Path:
    return project / "training" / "languages" / language


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CorpusError(f"{path}: {exc}") from exc


def labelled_rows(path: Path) -> list[tuple[str, str]]:
    """``items: [{text, label}]`` with labels checked."""
    data = _yaml(path)
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise CorpusError(f"{path}: expected `items`, a list")
    rows = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not str(item.get("text") or "").strip():
            raise CorpusError(f"{path}: items[{index}] has no text")
        label = str(item.get("label", ""))
        if label not in ESCALATION_CLASSES:
            raise CorpusError(
                f"{path}: items[{index}].label {label!r} is not one of {list(ESCALATION_CLASSES)}"
            )
        rows.append((str(item["text"]).strip(), label))
    return rows


def intent_rows(path: Path) -> list[tuple[str, str]]:
    data = _yaml(path)
    if not isinstance(data, dict):
        raise CorpusError(f"{path}: expected a mapping of intent to utterances")
    rows = []
    for intent, texts in data.items():
        if not isinstance(texts, list):
            raise CorpusError(f"{path}: {intent}: expected a list of utterances")
        rows += [(str(t).strip(), str(intent)) for t in texts if str(t).strip()]
    return rows


def _key(text: str) -> str:
    return text.strip().lower()


def _deduplicate(items: list[Item]) -> list[Item]:
    chosen: dict[str, Item] = {}
    for item in items:
        chosen.setdefault(_key(item.text), item)
    return list(chosen.values())


def escalation_files(directory: Path) -> list[Path]:
    return [p for p in sorted(directory.glob("escalation*.yaml")) if p.name != HOLDOUT_FILE]


def intent_files(directory: Path) -> list[Path]:
    """``intents.yaml`` and every other ``intents*.yaml`` (``intents_more.yaml``), sorted."""
    return sorted(directory.glob("intents*.yaml"))


def intent_file_rows(directory: Path) -> list[tuple[str, str, str]]:
    """(text, intent, file stem) of every intent file of the language."""
    files = intent_files(directory)
    if not files:
        raise CorpusError(f"{directory}: no intents*.yaml")
    return [(t, i, path.stem) for path in files for t, i in intent_rows(path)]


def holdout_items(project: Path, language: str) -> list[Item]:
    path = language_dir(project, language) / HOLDOUT_FILE
    if not path.is_file():
        raise CorpusError(f"{path}: not found")
    return [Item(t, label, "holdout", "test") for t, label in labelled_rows(path)]


def escalation_corpus(project: Path, language: str, seed: int) -> list[Item]:
    """The training and validation items (a text that is also in the holdout is left
    out: the holdout is never trained or tuned on)."""
    directory = language_dir(project, language)
    files = escalation_files(directory)
    if not files:
        raise CorpusError(f"{directory}: no escalation*.yaml")
    items: list[Item] = []
    for path in files:
        items += [
            Item(t, label, path.stem, split_of(t, seed, ESCALATION_FRACTIONS))
            for t, label in labelled_rows(path)
        ]
    items += [
        Item(t, NONE_LABEL, source, split_of(t, seed, ESCALATION_FRACTIONS))
        for t, _, source in intent_file_rows(directory)
    ]
    held = {_key(i.text) for i in holdout_items(project, language)}
    return [i for i in _deduplicate(items) if _key(i.text) not in held]


def intent_corpus(project: Path, language: str, seed: int) -> list[Item]:
    rows = intent_file_rows(language_dir(project, language))
    return _deduplicate(
        [Item(t, i, source, split_of(t, seed, INTENT_FRACTIONS)) for t, i, source in rows]
    )


def subset(items: list[Item], size: int | None, seed: int) -> list[Item]:
    """At most ``size`` items, chosen by a seeded hash of their text (for quick runs)."""
    if size is None or len(items) <= size:
        return items
    ranked = sorted(items, key=lambda i: hashlib.sha256(f"{seed}/{i.text}".encode()).digest())
    kept = {id(i) for i in ranked[:size]}
    return [i for i in items if id(i) in kept]


# --- escalation: decisions and figures -----------------------------------------------


class Verdict(NamedTuple):
    reason: str
    score: float  # 1 - P(none) (the decision compares it, discounted, with the threshold)
    reason_probability: float  # P(reason | a person is needed)


@dataclass(frozen=True)
class SecondOpinion:
    """The language's intent model, asked how surely a message is a routine request:
    the escalation score is multiplied by ``1 - weight * P(top intent)``."""

    intents: NgramClassifier
    weight: float

    def discount(self, texts: Sequence[str]) -> np.ndarray:
        if not self.weight or not len(texts):
            return np.ones(len(texts))
        return 1.0 - self.weight * self.intents.probabilities(texts).max(axis=1)


def escalation_scores(
    classifier: NgramClassifier,
    texts: Sequence[str],
    second_opinion: SecondOpinion | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per text: the class probabilities and the score compared with the threshold."""
    probabilities = classifier.probabilities(texts)
    score = 1.0 - probabilities[:, classifier.classes.index(NONE_LABEL)]
    if second_opinion is not None:
        score = score * second_opinion.discount(texts)
    return probabilities, score


def escalation_verdicts(
    classifier: NgramClassifier,
    texts: Sequence[str],
    threshold: float,
    second_opinion: SecondOpinion | None = None,
) -> list[Verdict | None]:
    """The served decision: a person is needed when the score (``1 - P(none)``, times
    the second opinion's discount) reaches the threshold; the reason is the likeliest of
    the others (ties to the first in precedence order). The verdict's ``score`` is
    ``1 - P(none)`` itself (the model's confidence, as before the second opinion)."""
    probabilities, scores = escalation_scores(classifier, texts, second_opinion)
    none = classifier.classes.index(NONE_LABEL)
    verdicts: list[Verdict | None] = []
    for row, score in zip(probabilities, scores, strict=True):
        if score < threshold:
            verdicts.append(None)
            continue
        reasons = row.copy()
        reasons[none] = -1.0
        index = int(reasons.argmax())
        needed = float(1.0 - row[none])
        verdicts.append(
            Verdict(classifier.classes[index], needed, float(row[index] / max(needed, 1e-12)))
        )
    return verdicts


def measure_escalation(items: Sequence[Item], verdicts: Sequence[Any]) -> dict[str, Any]:
    """``verdicts``: per item, None or anything with a ``reason`` (a :class:`Verdict`,
    a served model's verdict). Recall of needs-a-person (all, under 200 characters),
    false escalations of ``none`` items, reason accuracy on the escalated ones,
    per-reason precision/recall (a missed item counts as predicted ``none``), and the
    mistakes."""
    positive = [k for k, i in enumerate(items) if i.label != NONE_LABEL]
    negative = [k for k, i in enumerate(items) if i.label == NONE_LABEL]
    short = [k for k in positive if len(items[k].text) < SHORT_CHARS]
    caught = [k for k in positive if verdicts[k] is not None]
    predicted = [v.reason if v is not None else NONE_LABEL for v in verdicts]
    right_reason = sum(1 for k in caught if predicted[k] == items[k].label)
    false = [k for k in negative if verdicts[k] is not None]
    return {
        "n": len(items),
        "needs_person": {"n": len(positive), "recall": ratio(len(caught), len(positive))},
        "needs_person_short": {
            "n": len(short),
            "recall": ratio(sum(1 for k in short if verdicts[k] is not None), len(short)),
        },
        "false_escalation": {"n": len(negative), "rate": ratio(len(false), len(negative))},
        "reason_accuracy": {"n": len(caught), "accuracy": ratio(right_reason, len(caught))},
        "reasons": per_class([i.label for i in items], predicted, PRECEDENCE),
        "missed": [
            f"{items[k].text[:120]} ({items[k].label})" for k in positive if k not in caught
        ],
        "false_escalations": [f"{items[k].text[:120]} -> {predicted[k]}" for k in false],
        "wrong_reason": [
            f"{items[k].text[:120]} ({items[k].label} -> {predicted[k]})"
            for k in caught
            if predicted[k] != items[k].label
        ],
    }


def _classifier(arrays: dict[str, np.ndarray], classes: Sequence[str], spec: FeatureSpec):
    return NgramClassifier(arrays, {"classes": list(classes), "features": spec.as_card()})


def _counts(items: Sequence[Item]) -> dict[str, Any]:
    return {
        "items": len(items),
        "by_source": dict(sorted(Counter(i.source for i in items).items())),
        "by_label": dict(sorted(Counter(i.label for i in items).items())),
    }


def train_escalation(
    project: Path,
    language: str,
    artifact: Path,
    *,
    seed: int = SEED,
    c_grid: Sequence[float] | None = None,
    max_items: int | None = None,
    intent_artifact: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """``intent_artifact``: the language's intent model, for the second opinion (its
    weight chosen on validation, 0 among the choices); None: no second opinion."""
    started = time.perf_counter()
    config = LANGUAGES[language]
    spec = config.escalation_features
    items = subset(escalation_corpus(project, language, seed), max_items, seed)
    train = [i for i in items if i.split == "train"]
    val = [i for i in items if i.split == "val"]
    val_texts = [i.text for i in val]
    val_positive = np.array([i.label != NONE_LABEL for i in val])
    intents = NgramClassifier.load(intent_artifact, "intent") if intent_artifact else None
    weights = SECOND_OPINION_WEIGHTS if intents is not None else (0.0,)
    routine = intents.probabilities(val_texts).max(axis=1) if intents is not None else None
    grid = []
    best: tuple[tuple[float, ...], float, float, dict[str, np.ndarray], float] | None = None
    for c in c_grid or config.c_grid:
        arrays = fit(
            [i.text for i in train],
            [i.label for i in train],
            ESCALATION_CLASSES,
            spec,
            c=c,
            seed=seed,
        )
        classifier = _classifier(arrays, ESCALATION_CLASSES, spec)
        needed = 1.0 - classifier.probabilities(val_texts)[:, -1]
        for weight in weights:
            scores = needed * (1.0 - weight * routine) if weight else needed
            threshold = threshold_for_recall(
                scores[val_positive], scores[~val_positive], RECALL_TARGET
            )
            false_rate = float((scores[~val_positive] >= threshold).mean())
            auc = float(roc_auc_score(val_positive, scores))
            grid.append(
                {
                    "C": c,
                    "second_opinion_weight": weight,
                    "threshold": round(threshold, 4),
                    "val_false_rate": round(false_rate, 4),
                    "val_auc": round(auc, 4),
                }
            )
            key = (false_rate, -auc, weight, c)
            if best is None or key < best[0]:
                best = (key, c, weight, arrays, threshold)
    assert best is not None
    _, c, weight, arrays, threshold = best
    log(
        f"{language} escalation: C {c}, second opinion weight {weight}, threshold "
        f"{threshold:.3f} (validation false escalations {best[0][0]:.4f})"
    )
    classifier = _classifier(arrays, ESCALATION_CLASSES, spec)
    second_opinion = SecondOpinion(intents, weight) if intents is not None and weight else None
    holdout = holdout_items(project, language)
    report = {
        "validation": measure_escalation(
            val, escalation_verdicts(classifier, val_texts, threshold, second_opinion)
        ),
        "holdout": measure_escalation(
            holdout,
            escalation_verdicts(classifier, [i.text for i in holdout], threshold, second_opinion),
        ),
    }
    card = {
        "model": "escalation",
        "language": language,
        "classes": list(ESCALATION_CLASSES),
        "features": spec.as_card(),
        "feature_choice": config.feature_choice,
        "estimator": "multinomial logistic regression (scikit-learn lbfgs, L2), sublinear "
        "TF-IDF of hashed n-grams, each block of a row of unit length",
        "scikit_learn": sklearn.__version__,
        "C": c,
        "grid": grid,
        "seed": seed,
        "split": {"fractions": list(ESCALATION_FRACTIONS), "key": "the item's text"},
        "threshold": round(threshold, 6),
        "threshold_rule": f"on validation: the highest threshold on the score with "
        f"recall of needs-a-person >= {RECALL_TARGET} (fewest false escalations)",
        "second_opinion": {
            "model": intent_artifact.name if second_opinion and intent_artifact else None,
            "sha256": intents.card.get("sha256") if second_opinion and intents else None,
            "weight": weight,
            "rule": "score = (1 - P(none)) * (1 - weight * P(top intent)); the weight "
            f"chosen on validation among {list(weights)} (0: no second opinion)",
        },
        "data": {
            "files": [p.name for p in escalation_files(language_dir(project, language))]
            + [
                f"{p.name} (every utterance as none)"
                for p in intent_files(language_dir(project, language))
            ],
            "train": _counts(train),
            "validation": _counts(val),
            "holdout": _counts(holdout),
            "max_items": max_items,
        },
        "report": report,
        "holdout_note": f"{HOLDOUT_FILE}: never trained or tuned on; scored once, after "
        "the threshold was chosen on validation",
        "rebuild": REBUILD,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    digest = save(artifact, arrays, card)
    log(f"wrote {artifact} (sha256 {digest[:12]}…) in {card['training_seconds']} s")
    return {**card, "sha256": digest}


# --- intents -----------------------------------------------------------------------


def measure_intents(
    items: Sequence[Item], probabilities: np.ndarray, classes: Sequence[str], threshold: float
) -> dict[str, Any]:
    top = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    predicted = [classes[k] for k in top]
    correct = np.array([p == i.label for p, i in zip(predicted, items, strict=True)])
    answered = confidence >= threshold
    return {
        "n": len(items),
        "accuracy": ratio(int(correct.sum()), len(items)),
        "answered": int(answered.sum()),
        "accuracy_answered": ratio(int(correct[answered].sum()), int(answered.sum())),
        "abstention_rate": ratio(int((~answered).sum()), len(items)),
        "intents": per_class(
            [i.label for i in items],
            [p if a else "(asks)" for p, a in zip(predicted, answered, strict=True)],
            classes,
        ),
        "wrong_answered": [
            f"{items[k].text[:80]} ({items[k].label} -> {predicted[k]} {confidence[k]:.2f})"
            for k in range(len(items))
            if answered[k] and not correct[k]
        ],
    }


def train_intents(
    project: Path,
    language: str,
    artifact: Path,
    *,
    seed: int = SEED,
    c_grid: Sequence[float] | None = None,
    max_items: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    started = time.perf_counter()
    config = LANGUAGES[language]
    spec = config.intent_features
    items = subset(intent_corpus(project, language, seed), max_items, seed)
    classes = sorted({i.label for i in items})
    by_split = {s: [i for i in items if i.split == s] for s in ("train", "val", "test")}
    grid = []
    best: tuple[tuple[float, float, float], float, dict[str, np.ndarray], float] | None = None
    val = by_split["val"]
    for c in c_grid or config.intent_c_grid:
        train = by_split["train"]
        arrays = fit(
            [i.text for i in train], [i.label for i in train], classes, spec, c=c, seed=seed
        )
        probabilities = _classifier(arrays, classes, spec).probabilities([i.text for i in val])
        correct = np.array(
            [classes[k] == i.label for k, i in zip(probabilities.argmax(1), val, strict=True)]
        )
        threshold = threshold_for_accuracy(probabilities.max(1), correct, ACCURACY_TARGET)
        abstention = float((probabilities.max(1) < threshold).mean())
        grid.append(
            {
                "C": c,
                "act_threshold": round(threshold, 4),
                "val_accuracy": round(float(correct.mean()), 4),
                "val_abstention": round(abstention, 4),
            }
        )
        key = (abstention, -float(correct.mean()), c)
        if best is None or key < best[0]:
            best = (key, c, arrays, threshold)
    assert best is not None
    _, c, arrays, threshold = best
    log(f"{language} intents: C {c}, act threshold {threshold:.3f} (validation: {grid})")
    classifier = _classifier(arrays, classes, spec)
    report = {
        split: measure_intents(
            by_split[split],
            classifier.probabilities([i.text for i in by_split[split]]),
            classes,
            threshold,
        )
        for split in ("val", "test")
    }
    card = {
        "model": "intent",
        "language": language,
        "classes": classes,
        "features": spec.as_card(),
        "feature_choice": config.feature_choice,
        "estimator": "multinomial logistic regression (scikit-learn lbfgs, L2), sublinear "
        "TF-IDF of hashed n-grams, each block of a row of unit length",
        "scikit_learn": sklearn.__version__,
        "C": c,
        "grid": grid,
        "seed": seed,
        "split": {"fractions": list(INTENT_FRACTIONS), "key": "the item's text"},
        "act_threshold": round(threshold, 6),
        "threshold_rule": f"on validation: the lowest threshold on the top intent's "
        f"probability at which the answered items are right >= {ACCURACY_TARGET}",
        "out_of_scope": "out_of_scope" in classes,
        "data": {
            "files": [p.name for p in intent_files(language_dir(project, language))],
            **{s: _counts(v) for s, v in by_split.items()},
            "max_items": max_items,
        },
        "report": {"validation": report["val"], "test": report["test"]},
        "rebuild": REBUILD,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    digest = save(artifact, arrays, card)
    log(f"wrote {artifact} (sha256 {digest[:12]}…) in {card['training_seconds']} s")
    return {**card, "sha256": digest}


# --- printing ----------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def format_escalation(report: dict[str, Any], title: str, *, mistakes: bool = True) -> str:
    """The figures of :func:`measure_escalation`; with ``mistakes``, every missed item
    and false escalation too (``loan-agent train languages`` leaves the holdout's texts
    out)."""
    lines = [
        title,
        f"  needs a person: recall {_percent(report['needs_person']['recall'])} "
        f"(n={report['needs_person']['n']}); under {SHORT_CHARS} characters "
        f"{_percent(report['needs_person_short']['recall'])} "
        f"(n={report['needs_person_short']['n']})",
        f"  false escalations of none: {_percent(report['false_escalation']['rate'])} "
        f"(n={report['false_escalation']['n']})",
        f"  reason accuracy (escalated): {_percent(report['reason_accuracy']['accuracy'])}",
        f"  {'reason':<15}{'support':>8}{'precision':>11}{'recall':>9}",
    ]
    for reason, row in report["reasons"].items():
        lines.append(
            f"  {reason:<15}{row['support']:>8}{_percent(row['precision']):>11}"
            f"{_percent(row['recall']):>9}"
        )
    for name in ("missed", "false_escalations") if mistakes else ():
        for text in report[name]:
            lines.append(f"  {name.replace('_', ' ')}: {text}")
    return "\n".join(lines)


def format_intents(report: dict[str, Any], title: str) -> str:
    return "\n".join(
        [
            title,
            f"  accuracy (top intent, all items): {_percent(report['accuracy'])} (n={report['n']})",
            f"  acted on: accuracy {_percent(report['accuracy_answered'])} "
            f"(n={report['answered']}); abstained (clarifying question) "
            f"{_percent(report['abstention_rate'])}",
        ]
    )
