"""Training and measuring the intent model (``loan-agent train intents`` and
``loan-agent nlu-report``).

The corpus, each item with a source and a fixed seeded split (train 70 % / validation
15 % / test 15 %, by the hash of seed + text, so adding data never moves a test item):

- our own utterances: ``training/intents/*.yaml`` (paraphrases written for this project)
  and the examples of ``prompts/intents.yaml``;
- CLINC150 (``../shared/data``, read at training time only, never shipped): the banking
  and credit-card intents that are ours (bill due dates, bill amounts and minimum
  payments are the next payment; APR and interest rates are policy questions; paying a
  bill is how to pay), every other intent and the out-of-scope set as ``out_of_scope``
  (a fixed sample per intent); fraud and lost-card reports are left out (the escalation
  model handles them), and so are the bank-account balances and transactions (neither
  ours nor clearly not);
- banking77 (same): every category as ``out_of_scope`` (a fixed sample per category),
  except those that report fraud or dispute a charge (left out, as above).

The model is a multinomial logistic regression over the all-MiniLM-L6-v2 embedding of
the normalised text (the embedding the engine already computes for the turn). The
regularisation is chosen on the validation split; so are the thresholds:

- ``threshold``: the engine acts on the top intent only at or above it (else it asks a
  clarifying question): the lowest probability at which the answered validation items
  are right at least ``target_accuracy`` of the time;
- ``write_threshold``: a write intent with no cue needs this much: the lowest probability
  at which predicted writes, and all the predictions, are right at least
  ``write_precision`` of the time (the writes alone are too few to go by);
- ``confident_threshold``: the model's top intent stands against a cue pattern for
  another intent from this probability (the one that serves the validation split best;
  of equally good values the highest, which trusts the hand-written cues most).

The test split is scored once, after that, and its figures go into the artifact's card.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression

from agent.engine.offline.intent_model import (
    DEFAULT_ARTIFACT,
    WRITE_INTENTS,
    CueSet,
    model_input,
    softmax,
)
from agent.learning.artifacts import save_artifact
from agent.learning.embedding_cache import EmbeddingCache
from agent.learning.metrics import per_class, ratio
from agent.learning.splits import Split, split_of

SEED = 20261210
OUT_OF_SCOPE = "out_of_scope"
ABSTAIN = "(abstain)"
C_GRID = (16.0, 64.0, 256.0)

# CLINC150 intents that are ours, and those left out of the intent set altogether.
CLINC_INTENTS = {
    "bill_due": "next_payment",
    "min_payment": "next_payment",
    "bill_balance": "next_payment",
    "pay_bill": "how_to_pay",
    "interest_rate": "policy_question",
    "apr": "policy_question",
}
CLINC_LEFT_OUT = {"report_fraud", "report_lost_card", "balance", "transactions"}
CLINC_LENDING_DOMAINS = ("banking", "credit_cards")
# Out-of-scope sample sizes (per intent / category), fixed by the seed.
CLINC_LENDING_SAMPLE = 25
CLINC_OTHER_SAMPLE = 8
BANKING77_SAMPLE = 10
# banking77 categories that report fraud or dispute a charge: the escalation model's.
BANKING77_LEFT_OUT = {
    "card_payment_not_recognised",
    "cash_withdrawal_not_recognised",
    "compromised_card",
    "lost_or_stolen_card",
    "lost_or_stolen_phone",
    "transaction_charged_twice",
    "wrong_amount_of_cash_received",
    "request_refund",
    "card_payment_wrong_exchange_rate",
    "extra_charge_on_statement",
    "reverted_card_payment?",
}


class CorpusError(ValueError):
    """A data file is missing or malformed (the message names the file)."""


@dataclass(frozen=True)
class Item:
    text: str
    label: str
    source: str
    split: Split


@dataclass(frozen=True)
class Paths:
    project: Path
    shared_data: Path | None

    @property
    def own(self) -> Path:
        return self.project / "training" / "intents"

    @property
    def intents(self) -> Path:
        return self.project / "prompts" / "intents.yaml"


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CorpusError(f"{path}: {exc}") from exc


def intent_names(paths: Paths) -> list[str]:
    return list(_yaml(paths.intents))


def own_items(paths: Paths, seed: int) -> list[Item]:
    names = set(intent_names(paths))
    items: list[Item] = []
    for path in sorted(paths.own.glob("*.yaml")):
        data = _yaml(path) or {}
        for intent, texts in data.items():
            if intent not in names:
                raise CorpusError(f"{path}: {intent!r} is not an intent of {paths.intents}")
            source = f"own:{path.stem}"
            if any(not isinstance(t, str) for t in texts or []):
                raise CorpusError(f"{path}: {intent}: every utterance must be a string (quote it)")
            items += [Item(t.strip(), intent, source, split_of(t, seed)) for t in texts or []]
    for intent, spec in _yaml(paths.intents).items():
        for text in spec.get("examples", []):
            items.append(Item(text.strip(), intent, "exemplars", split_of(text, seed)))
    return items


def _sample(texts: Sequence[str], size: int, seed: int) -> list[str]:
    """A fixed sample: the texts whose seeded hash is smallest."""
    key = lambda t: hashlib.sha256(f"{seed}\x01{t}".encode()).hexdigest()  # noqa: E731
    return sorted(dict.fromkeys(texts), key=key)[:size]


def public_items(paths: Paths, seed: int) -> list[Item]:
    if paths.shared_data is None:
        return []
    root = paths.shared_data
    clinc = root / "clinc150" / "data_train_val.json"
    banking = root / "banking77" / "train.csv"
    for path in (clinc, banking, root / "clinc150" / "domains.json"):
        if not path.is_file():
            raise CorpusError(f"{path}: not found (pass --data-dir, the shared data folder)")
    data = json.loads(clinc.read_text(encoding="utf-8"))
    domains = json.loads((root / "clinc150" / "domains.json").read_text(encoding="utf-8"))
    lending = {i for d in CLINC_LENDING_DOMAINS for i in domains.get(d, [])}
    by_intent: dict[str, list[str]] = {}
    for part in ("train", "val", "oos_train", "oos_val"):
        for text, intent in data.get(part, []):
            by_intent.setdefault(intent, []).append(text)
    items: list[Item] = []
    for intent in sorted(by_intent):
        texts = by_intent[intent]
        if intent in CLINC_LEFT_OUT:
            continue
        if intent in CLINC_INTENTS:
            label, chosen = CLINC_INTENTS[intent], texts
        elif intent == "oos":
            label, chosen = OUT_OF_SCOPE, texts
        else:
            size = CLINC_LENDING_SAMPLE if intent in lending else CLINC_OTHER_SAMPLE
            label, chosen = OUT_OF_SCOPE, _sample(texts, size, seed)
        items += [Item(t.strip(), label, "clinc150", split_of(t, seed)) for t in chosen]
    with banking.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    categories: dict[str, list[str]] = {}
    for row in rows:
        categories.setdefault(row["category"], []).append(row["text"])
    for category in sorted(categories):
        if category in BANKING77_LEFT_OUT:
            continue
        for text in _sample(categories[category], BANKING77_SAMPLE, seed):
            items.append(Item(text.strip(), OUT_OF_SCOPE, "banking77", split_of(text, seed)))
    return items


def deduplicate(items: list[Item]) -> list[Item]:
    """One item per model input (our own first); a text with two labels is dropped."""
    chosen: dict[str, Item] = {}
    conflicting: set[str] = set()
    for item in sorted(items, key=lambda i: (i.source.startswith(("clinc", "banking")), i.source)):
        if not item.text:
            continue
        key = model_input(item.text).lower()
        if key in chosen and chosen[key].label != item.label:
            if not chosen[key].source.startswith(("own", "exemplars")):
                conflicting.add(key)
            continue
        chosen.setdefault(key, item)
    return [item for key, item in chosen.items() if key not in conflicting]


def corpus(paths: Paths, seed: int) -> list[Item]:
    return deduplicate(own_items(paths, seed) + public_items(paths, seed))


# --- fitting ---------------------------------------------------------------------


def sample_weights(items: Sequence[Item], classes: Sequence[str]) -> np.ndarray:
    """Every class weighs the same in total; within a class, every source the same
    (square-root damped): 900 CLINC bill questions must not drown our own wordings."""
    counts = Counter(i.label for i in items)
    weights = np.array([len(items) / (len(classes) * counts[i.label]) for i in items])
    sources = Counter((i.label, i.source) for i in items)
    per_label = Counter(label for label, _ in sources)
    for index, item in enumerate(items):
        share = counts[item.label] / (per_label[item.label] * sources[(item.label, item.source)])
        weights[index] *= share**0.5
    return weights / weights.mean()


def fit(
    items: Sequence[Item], vectors: np.ndarray, classes: Sequence[str], c: float
) -> dict[str, np.ndarray]:
    targets = np.array([classes.index(i.label) for i in items])
    model = LogisticRegression(C=c, max_iter=5000, tol=1e-6)
    model.fit(vectors.astype(np.float64), targets, sample_weight=sample_weights(items, classes))
    coef = np.zeros((len(classes), vectors.shape[1]), dtype=np.float32)
    intercept = np.zeros(len(classes), dtype=np.float32)
    coef[model.classes_] = model.coef_
    intercept[model.classes_] = model.intercept_
    missing = [classes[k] for k in range(len(classes)) if k not in set(model.classes_)]
    intercept[[classes.index(m) for m in missing]] = -50.0  # a class with no data: never
    return {"coef": coef, "intercept": intercept}


def probabilities(arrays: dict[str, np.ndarray], vectors: np.ndarray) -> np.ndarray:
    logits = vectors.astype(np.float64) @ arrays["coef"].T.astype(np.float64)
    return softmax(logits + arrays["intercept"].astype(np.float64))


# --- thresholds and measures ------------------------------------------------------


_GRID = [round(x, 3) for x in np.arange(0.10, 0.995, 0.01)]


def lowest_threshold(top: np.ndarray, right: np.ndarray, target: float, min_kept: int = 5) -> float:
    """The lowest threshold at which the items kept (top >= threshold) are right at
    least ``target`` of the time, and stay so for every higher threshold."""
    chosen = _GRID[-1]
    for threshold in reversed(_GRID):
        kept = top >= threshold
        if kept.sum() < min_kept:
            continue
        if float(right[kept].mean()) < target:
            break
        chosen = threshold
    return float(chosen)


@dataclass(frozen=True)
class Thresholds:
    threshold: float
    write_threshold: float
    confident_threshold: float


def choose_thresholds(
    items: Sequence[Item],
    probs: np.ndarray,
    classes: Sequence[str],
    target_accuracy: float,
    write_precision: float,
    confident_precision: float,
) -> Thresholds:
    labels = np.array([classes.index(i.label) for i in items])
    predicted = probs.argmax(axis=1)
    top = probs.max(axis=1)
    right = predicted == labels
    threshold = lowest_threshold(top, right, target_accuracy)
    writes = np.array([classes[k] in WRITE_INTENTS for k in predicted])
    # The writes alone are a few dozen validation items (one mistake moves their precision
    # by 3-4 points), so a write also needs the confidence at which all the validation
    # decisions reach the write precision.
    write_threshold = max(
        threshold,
        lowest_threshold(top[writes], right[writes], write_precision),
        lowest_threshold(top, right, write_precision),
    )
    confident = max(threshold, lowest_threshold(top, right, confident_precision))
    return Thresholds(threshold, write_threshold, confident)


def decisions(
    texts: Sequence[str],
    probs: np.ndarray,
    classes: Sequence[str],
    thresholds: Thresholds,
    cues: CueSet | None,
) -> list[str]:
    """What the engine does with each message, as served: the top intent, a cue's intent
    when the model is not confident, or an abstention."""
    out = []
    for text, row in zip(texts, probs, strict=True):
        ranked = [classes[k] for k in np.argsort(-row, kind="stable")]
        top = ranked[0]
        hits = cues.hits(text) if cues is not None else set()
        p = float(row.max())
        stands = p >= thresholds.confident_threshold and top != OUT_OF_SCOPE
        if top not in hits and not stands and hits:
            cued = max(hits, key=lambda h: float(row[classes.index(h)]))
            out.append(cued)
            continue
        floor = thresholds.write_threshold if top in WRITE_INTENTS else thresholds.threshold
        out.append(top if (top in hits or p >= floor) else ABSTAIN)
    return out


def measure(items: Sequence[Item], decided: Sequence[str], classes: Sequence[str]) -> dict:
    expected = [i.label for i in items]
    answered = [k for k, d in enumerate(decided) if d != ABSTAIN]
    right = sum(1 for k in answered if decided[k] == expected[k])
    mistakes = Counter(
        (expected[k], decided[k]) for k in range(len(items)) if decided[k] != expected[k]
    )
    by_source = {}
    for source in sorted({i.source.split(":")[0] for i in items}):
        ks = [k for k, i in enumerate(items) if i.source.split(":")[0] == source]
        ans = [k for k in ks if decided[k] != ABSTAIN]
        by_source[source] = {
            "n": len(ks),
            "abstained": ratio(len(ks) - len(ans), len(ks)),
            "accuracy_answered": ratio(sum(1 for k in ans if decided[k] == expected[k]), len(ans)),
        }
    return {
        "n": len(items),
        "abstention_rate": ratio(len(items) - len(answered), len(items)),
        "accuracy_answered": ratio(right, len(answered)),
        "accuracy_overall": ratio(right, len(items)),
        "by_source": by_source,
        "per_intent": per_class(expected, list(decided), classes),
        "confusions": [
            {"expected": e, "decided": d, "n": n} for (e, d), n in mistakes.most_common(15)
        ],
    }


def _plateaus(scored: Sequence[tuple[int, float]]) -> str:
    """ "310 for 0.50-0.62, 311 for 0.63-0.99": the runs of equal scores."""
    runs: list[list] = []
    for right, value in scored:
        if runs and runs[-1][0] == right:
            runs[-1][2] = value
        else:
            runs.append([right, value, value])
    return ", ".join(f"{r} for {a:.2f}-{b:.2f}" for r, a, b in runs)


def _macro_f1(items: Sequence[Item], probs: np.ndarray, classes: Sequence[str]) -> float:
    predicted = [classes[k] for k in probs.argmax(axis=1)]
    rows = per_class([i.label for i in items], predicted, classes)
    scores = []
    for row in rows.values():
        p, r = row["precision"] or 0.0, row["recall"] or 0.0
        if row["support"]:
            scores.append(0.0 if p + r == 0 else 2 * p * r / (p + r))
    return float(np.mean(scores))


def train(
    paths: Paths,
    embedder: Any,
    *,
    seed: int = SEED,
    c_grid: Sequence[float] = C_GRID,
    target_accuracy: float = 0.95,
    write_precision: float = 0.97,
    confident_precision: float = 0.99,
    cache: Path | None = None,
    artifact: Path = DEFAULT_ARTIFACT,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    started = time.perf_counter()
    classes = intent_names(paths)
    items = corpus(paths, seed)
    by_split = {s: [i for i in items if i.split == s] for s in ("train", "val", "test")}
    log("items: " + ", ".join(f"{s} {len(v)}" for s, v in by_split.items()))
    embeddings = EmbeddingCache(embedder, cache)
    vectors = {s: embeddings.embed([model_input(i.text) for i in v]) for s, v in by_split.items()}
    log(f"embedded in {time.perf_counter() - started:.1f} s")
    tried = {}
    best: tuple[float, float] | None = None
    for c in c_grid:
        arrays = fit(by_split["train"], vectors["train"], classes, c)
        score = _macro_f1(by_split["val"], probabilities(arrays, vectors["val"]), classes)
        tried[str(c)] = round(score, 4)
        if best is None or score > best[0]:
            best = (score, c)
    assert best is not None
    c = best[1]
    log(f"C by validation macro-F1: {tried} -> {c}")
    arrays = fit(by_split["train"], vectors["train"], classes, c)
    cues = CueSet.from_file(paths.intents)
    val_probs = probabilities(arrays, vectors["val"])
    thresholds = choose_thresholds(
        by_split["val"], val_probs, classes, target_accuracy, write_precision, confident_precision
    )
    # How the model combines with the cue patterns: the model's top intent stands against
    # another intent's cue from the probability that serves the validation split best.
    # The cues are hand-written, high-precision patterns: the model overrules one only as
    # far as the validation split shows it gains, so among equally good values the
    # highest (the one that trusts the cues most) is kept.
    val_texts = [model_input(i.text) for i in by_split["val"]]
    expected = [i.label for i in by_split["val"]]
    scored = []
    for confident in [t for t in _GRID if t >= thresholds.threshold]:
        trial = Thresholds(thresholds.threshold, thresholds.write_threshold, confident)
        decided = decisions(val_texts, val_probs, classes, trial, cues)
        scored.append((sum(1 for e, d in zip(expected, decided, strict=True) if e == d), confident))
    best_right = max(right for right, _ in scored)
    confident_threshold = max(c for right, c in scored if right == best_right)
    log(f"validation items right by confident threshold: {_plateaus(scored)}")
    thresholds = Thresholds(
        thresholds.threshold, thresholds.write_threshold, float(confident_threshold)
    )
    log(f"thresholds on validation: {thresholds}")
    report = {}
    for split in ("val", "test"):
        texts = [model_input(i.text) for i in by_split[split]]
        probs = probabilities(arrays, vectors[split])
        report["validation" if split == "val" else "test"] = {
            "served": measure(
                by_split[split], decisions(texts, probs, classes, thresholds, cues), classes
            ),
            "model_only": measure(
                by_split[split], decisions(texts, probs, classes, thresholds, None), classes
            ),
        }
    card = {
        "model": "intent",
        "kind": "logistic_regression",
        "classes": classes,
        "threshold": thresholds.threshold,
        "write_threshold": thresholds.write_threshold,
        "confident_threshold": thresholds.confident_threshold,
        "targets": {
            "accuracy_answered": target_accuracy,
            "write_precision": write_precision,
            "confident_precision": confident_precision,
        },
        "seed": seed,
        "C": c,
        "C_validation_macro_f1": tried,
        "embedding_model": "all-MiniLM-L6-v2",
        "embedding_dimension": int(vectors["train"].shape[1]),
        "input": "agent.language.normalize.normalize(text)",
        "data": {
            s: dict(sorted(Counter(i.source for i in v).items())) for s, v in by_split.items()
        },
        "rebuild": "loan-agent train intents",
        "report": report,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    digest = save_artifact(artifact, arrays, card)
    log(f"wrote {artifact} (sha256 {digest[:12]}…) in {card['training_seconds']} s")
    return card


def format_report(card: dict[str, Any], split: str = "test") -> str:
    served = card["report"][split]["served"]
    lines = [
        f"intent model, {split} split (seed {card['seed']}, never tuned on)"
        if split == "test"
        else f"intent model, {split} split (seed {card['seed']})",
        f"thresholds (validation): act {card['threshold']}, write "
        f"{card['write_threshold']}, stands against a cue {card['confident_threshold']}",
        f"items {served['n']}: abstained {served['abstention_rate']:.1%}, accuracy on "
        f"answered {served['accuracy_answered']:.1%}, overall {served['accuracy_overall']:.1%}",
        "",
        f"{'intent':<22}{'support':>8}{'precision':>11}{'recall':>8}",
    ]
    for intent, row in served["per_intent"].items():
        p = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        r = "-" if row["recall"] is None else f"{row['recall']:.3f}"
        lines.append(f"{intent:<22}{row['support']:>8}{p:>11}{r:>8}")
    lines += ["", "by source:"]
    for source, row in served["by_source"].items():
        lines.append(
            f"  {source:<12} n={row['n']:<5} abstained {row['abstained'] or 0:.1%}  "
            f"accuracy on answered {row['accuracy_answered'] or 0:.1%}"
        )
    lines += ["", "most frequent mistakes (expected -> decided):"]
    for row in served["confusions"][:10]:
        lines.append(f"  {row['expected']} -> {row['decided']}: {row['n']}")
    return "\n".join(lines)
