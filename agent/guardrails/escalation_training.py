"""Training and measuring the escalation model (``loan-agent train escalation`` and
``loan-agent guardrails-report``).

The corpus, each item with a source and a fixed seeded split (train 70 % / validation
15 % / test 15 %, by the text's hash, so adding data never moves a test item):

- real public text in ``../shared/data`` (never shipped): CFPB complaint narratives
  (every one needs a person; the reason is the lexicon's when it names one, else
  ``complaint``), banking77 questions and CLINC150 utterances (no person, except the
  categories that report fraud or dispute a charge, labelled below);
- our own labelled sets: ``training/escalation/*.yaml``, the classifier's exemplars,
  the labelled guardrail set and the intent examples (routine);
- ``tests/guardrails/escalation_holdout.yaml``: always test, never trained or tuned on.

The model is fitted on the training split. The thresholds are chosen on the
validation split only (the lexicon-or-model decision, as served, must keep false
escalations of routine and out-of-scope messages at or below ``max_false_rate`` and
then reach the highest recall). The test split is scored once, after that, and its
figures are written to the artifact's card.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression

from agent.guardrails.escalation_model import (
    CHAR_FEATURES,
    DEFAULT_ARTIFACT,
    EMBEDDING_WEIGHT,
    HASH_FEATURES,
    NONE_LABEL,
    Weights,
    combine,
    document_frequencies,
    lexical_features,
    sentences,
)
from agent.learning.artifacts import save_artifact
from agent.learning.embedding_cache import EmbeddingCache
from agent.learning.metrics import per_class, ratio
from agent.learning.splits import Split, split_of
from agent.policy.config import EscalationReason

SEED = 20261201
REASONS = [r.value for r in EscalationReason if r.value != "verification_failed"]
CLASSES = [*REASONS, NONE_LABEL]
SHORT_CHARS = 200

# banking77 / CLINC150 categories that need a person at a lender: the customer reports
# fraud (a payment, withdrawal or card they do not recognise, a stolen card or phone) or
# disputes a charge. Everything else there is routine or out of scope.
BANKING77_REASONS = {
    "card_payment_not_recognised": "fraud",
    "cash_withdrawal_not_recognised": "fraud",
    "compromised_card": "fraud",
    "transaction_charged_twice": "dispute",
    "direct_debit_payment_not_recognised": "fraud",
}
# Categories that are neither clearly a case for a person nor clearly routine at a
# lender (refunds from merchants, exchange rates, a lost phone): left out entirely.
BANKING77_AMBIGUOUS = {
    "request_refund",
    "card_payment_wrong_exchange_rate",
    "extra_charge_on_statement",
    "reverted_card_payment?",
    "lost_or_stolen_card",
    "lost_or_stolen_phone",
    "wrong_amount_of_cash_received",
    "card_payment_fee_charged",
    "transfer_fee_charged",
    "cash_withdrawal_charge",
}
# A narrative's reason when the lexicon names none: about credit reports and debt
# collection, the CFPB's most common issues are inaccurate information and debt not owed
# (disputes); about other products, treatment and service (complaints).
PRODUCT_REASON = {"Credit reporting": "dispute", "Debt collection": "dispute"}
CLINC_REASONS = {"report_fraud": "fraud"}
CLINC_AMBIGUOUS = {"report_lost_card", "damaged_card", "replacement_card_duration"}
CLINC_LENDING_DOMAINS = {"banking", "credit_cards"}
# The public question sets are large and alike within a category: a fixed sample per
# category keeps training within minutes (the lending intents are kept whole).
PER_CATEGORY = {"banking77": 50, "clinc150": 25}


@dataclass(frozen=True)
class Item:
    text: str
    label: str  # a reason or "none"
    source: str
    split: Split
    category: str  # "reason", "routine" or "out_of_scope"
    weak: bool = False  # the reason label is inferred (the narratives)


@dataclass(frozen=True)
class Paths:
    project: Path
    shared_data: Path

    @property
    def own(self) -> Path:
        return self.project / "training" / "escalation"

    @property
    def exemplars(self) -> Path:
        return self.project / "prompts" / "escalation" / "exemplars.yaml"

    @property
    def labelled(self) -> Path:
        return self.project / "tests" / "guardrails" / "escalation_labelled.yaml"

    @property
    def holdout(self) -> Path:
        return self.project / "tests" / "guardrails" / "escalation_holdout.yaml"

    @property
    def intent_training(self) -> Path:
        return self.project / "training" / "intents"

    @property
    def intents(self) -> Path:
        return self.project / "prompts" / "intents.yaml"


class CorpusError(ValueError):
    """A data file is missing or malformed (the message names the file and the field)."""


def _items(
    rows: Iterable[tuple[str, str, str]], source: str, seed: int, *, weak: bool = False
) -> list[Item]:
    """(text, label, category) rows as items with their fixed split."""
    return [
        Item(text.strip(), label, source, split_of(text, seed), category, weak)
        for text, label, category in rows
        if text and text.strip()
    ]


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CorpusError(f"{path}: {exc}") from exc


def _labelled_rows(path: Path) -> list[tuple[str, str, str]]:
    data = _yaml(path)
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise CorpusError(f"{path}: expected `items`, a list")
    rows = []
    for index, item in enumerate(items):
        label = str(item.get("label", ""))
        if label not in CLASSES:
            raise CorpusError(f"{path}: items[{index}].label {label!r} is not one of {CLASSES}")
        category = item.get("category") or ("reason" if label != NONE_LABEL else "routine")
        rows.append((str(item["text"]), label, category))
    return rows


def own_items(paths: Paths, seed: int) -> list[Item]:
    items: list[Item] = []
    for path in sorted(paths.own.glob("*.yaml")):
        items += _items(_labelled_rows(path), f"own:{path.stem}", seed)
    items += _items(_labelled_rows(paths.labelled), "labelled", seed)
    exemplars = _yaml(paths.exemplars)
    rows = [
        (text, reason, "reason")
        for reason, groups in exemplars["reasons"].items()
        for texts in groups.values()
        for text in texts
    ]
    rows += [
        (text, NONE_LABEL, "out_of_scope" if "scope" in tag else "routine")
        for tag, texts in exemplars["none"].items()
        for text in texts
    ]
    items += _items(rows, "exemplars", seed)
    intents = _yaml(paths.intents)
    rows = [
        (text, NONE_LABEL, "out_of_scope" if intent == "out_of_scope" else "routine")
        for intent, spec in intents.items()
        for text in spec.get("examples", [])
    ]
    items += _items(rows, "intent_examples", seed)
    # The intent model's own training utterances: routine requests in many wordings
    # (contact preferences, fee waivers, promises…), the look-alikes that matter most.
    rows = []
    for path in sorted(paths.intent_training.glob("*.yaml")):
        data = _yaml(path)
        if not isinstance(data, dict):
            raise CorpusError(f"{path}: expected a mapping of intent to utterances")
        for intent, texts in data.items():
            category = "out_of_scope" if intent == "out_of_scope" else "routine"
            rows += [(str(t), NONE_LABEL, category) for t in texts or [] if isinstance(t, str)]
    items += _items(rows, "intent_training", seed)
    holdout = _labelled_rows(paths.holdout)
    items += [Item(t.strip(), label, "holdout", "test", c) for t, label, c in holdout]
    return items


def public_items(paths: Paths, seed: int, weak_reason: Callable[[str], str | None]) -> list[Item]:
    root = paths.shared_data
    narratives = root / "complaints" / "cfpb_complaint_narratives.csv"
    banking = root / "banking77" / "train.csv"
    clinc = root / "clinc150" / "data_train_val.json"
    for path in (narratives, banking, clinc):
        if not path.is_file():
            raise CorpusError(f"{path}: not found (pass --data-dir, the shared data folder)")
    items: list[Item] = []
    with narratives.open(encoding="utf-8") as handle:
        rows = [
            (
                r["narrative"],
                weak_reason(r["narrative"]) or PRODUCT_REASON.get(r["product"], "complaint"),
                "reason",
            )
            for r in csv.DictReader(handle)
        ]
    items += _items(rows, "cfpb", seed, weak=True)
    with banking.open(encoding="utf-8") as handle:
        questions = [
            (r["text"], r["category"])
            for r in csv.DictReader(handle)
            if r["category"] not in BANKING77_AMBIGUOUS
        ]
    rows = [
        (
            text,
            BANKING77_REASONS.get(category, NONE_LABEL),
            "reason" if category in BANKING77_REASONS else "out_of_scope",
        )
        for text, category in _sample(questions, PER_CATEGORY["banking77"], seed)
    ]
    items += _items(rows, "banking77", seed)
    data = json.loads(clinc.read_text(encoding="utf-8"))
    domains = json.loads((root / "clinc150" / "domains.json").read_text(encoding="utf-8"))
    lending = {i for d in CLINC_LENDING_DOMAINS for i in domains.get(d, [])}
    utterances = [
        (text, intent)
        for text, intent in data["train"] + data["val"] + data["oos_train"] + data["oos_val"]
        if intent not in CLINC_AMBIGUOUS
    ]
    whole = lending | set(CLINC_REASONS) | {"oos"}
    kept = [u for u in utterances if u[1] in whole]
    rest = [u for u in utterances if u[1] not in whole]
    kept += _sample(rest, PER_CATEGORY["clinc150"], seed)
    rows = []
    for text, intent in kept:
        if intent in CLINC_REASONS:
            rows.append((text, CLINC_REASONS[intent], "reason"))
        else:
            rows.append((text, NONE_LABEL, "routine" if intent in lending else "out_of_scope"))
    items += _items(rows, "clinc150", seed)
    return items


def _sample(rows: list[tuple[str, str]], per_category: int, seed: int) -> list[tuple[str, str]]:
    """At most ``per_category`` (text, category) rows per category, chosen by a seeded
    hash of the text (independent of file order)."""
    ranked = sorted(
        rows, key=lambda r: hashlib.sha256(f"{seed}/sample/{r[0]}".encode()).hexdigest()
    )
    taken: Counter[str] = Counter()
    chosen = []
    for text, category in ranked:
        if taken[category] < per_category:
            taken[category] += 1
            chosen.append((text, category))
    return chosen


def deduplicate(items: list[Item]) -> list[Item]:
    """One item per text (case-insensitive); a held-out copy wins, then the first."""
    chosen: dict[str, Item] = {}
    for item in sorted(items, key=lambda i: i.source != "holdout"):
        chosen.setdefault(item.text.lower(), item)
    return list(chosen.values())


# --- fitting ---------------------------------------------------------------------


@dataclass
class Scores:
    """Per item: the whole-message needs-a-person score, the best sentence score, the
    lexicon's verdict (a reason or None) and the model's best reason."""

    whole: np.ndarray
    sentence: np.ndarray
    lexicon: list[str | None]
    reason: list[str]


def fit(
    train: list[Item], embed: Callable[[list[str]], np.ndarray], c: float
) -> dict[str, np.ndarray]:
    texts = [i.text for i in train]
    idf = document_frequencies(texts)
    features = combine(embed(texts), lexical_features(texts, idf))
    targets = np.array([CLASSES.index(i.label) for i in train])
    # Unweighted: on validation, class- or source-balanced weights gave lower recall at
    # the same false-escalation rate (the classes' natural shares are a useful prior).
    model = LogisticRegression(C=c, max_iter=3000, tol=1e-6)
    model.fit(features, targets)
    return {
        "coef": model.coef_.astype(np.float32),
        "intercept": model.intercept_.astype(np.float32),
        "idf": idf.astype(np.float32),
    }


def score_items(
    items: list[Item],
    arrays: dict[str, np.ndarray],
    embed: Callable[[list[str]], np.ndarray],
    lexicon: Callable[[str], str | None],
) -> Scores:
    none = CLASSES.index(NONE_LABEL)
    units: list[str] = []
    owner: list[int] = []
    whole_row: list[int] = []
    for index, item in enumerate(items):
        whole_row.append(len(units))
        units.append(item.text)
        owner.append(index)
        parts = sentences(item.text)
        if len(parts) >= 2:
            units += parts
            owner += [index] * len(parts)
    probabilities = np.zeros((len(units), len(CLASSES)))
    weights = None
    for start in range(0, len(units), 2048):
        chunk = units[start : start + 2048]
        vectors = embed(chunk)
        weights = weights or Weights(arrays, vectors.shape[1])
        probabilities[start : start + len(chunk)] = weights.probabilities(chunk, vectors)
    need = 1.0 - probabilities[:, none]
    whole = need[whole_row]
    sentence = np.zeros(len(items))
    for unit, index in enumerate(owner):
        if unit != whole_row[index] and need[unit] > sentence[index]:
            sentence[index] = need[unit]
    reasons = []
    for index in range(len(items)):
        row = probabilities[whole_row[index]].copy()
        row[none] = -1
        reasons.append(CLASSES[int(row.argmax())])
    return Scores(whole, sentence, [lexicon(i.text) for i in items], reasons)


def decide(scores: Scores, threshold: float, sentence_threshold: float) -> np.ndarray:
    lexicon = np.array([r is not None for r in scores.lexicon])
    return lexicon | (scores.whole >= threshold) | (scores.sentence >= sentence_threshold)


def choose_thresholds(
    items: list[Item], scores: Scores, max_false_rate: float
) -> tuple[float, float, dict[str, float]]:
    """On validation items: the (whole, sentence) thresholds with the highest recall of
    needs-a-person whose false escalations of routine and out-of-scope messages stay
    within ``max_false_rate``."""
    positive = np.array([i.label != NONE_LABEL for i in items])
    negative = ~positive
    grid = [round(x, 3) for x in np.arange(0.30, 0.99, 0.01)]
    best: tuple[float, float, float, float] | None = None
    for threshold in grid:
        for sentence_threshold in [t for t in grid if t >= threshold]:
            decided = decide(scores, threshold, sentence_threshold)
            rate = float(decided[negative].mean())
            if rate > max_false_rate:
                continue
            key = (float(decided[positive].mean()), -rate, threshold, sentence_threshold)
            if best is None or key > best:
                best = key
    if best is None:
        return 0.99, 0.99, {"recall": 0.0}
    recall, negative_rate, threshold, sentence_threshold = best
    return threshold, sentence_threshold, {"recall": recall, "false_rate": -negative_rate}


def predictions(scores: Scores, decided: np.ndarray) -> list[str | None]:
    """The reason each item would be escalated with (None: not escalated)."""
    return [
        (scores.lexicon[k] or scores.reason[k]) if decided[k] else None for k in range(len(decided))
    ]


def measure(items: list[Item], predicted: list[str | None]) -> dict[str, Any]:
    """Recall of needs-a-person (overall, short, long, by source), false escalations
    of routine / out-of-scope messages by source, and per-reason precision and recall
    where the label is not inferred."""
    escalated = np.array([p is not None for p in predicted])
    positive = [k for k, i in enumerate(items) if i.label != NONE_LABEL]
    negative = [k for k, i in enumerate(items) if i.label == NONE_LABEL]

    def recall(indices: list[int]) -> dict[str, Any]:
        return {"n": len(indices), "recall": ratio(int(escalated[indices].sum()), len(indices))}

    short = [k for k in positive if len(items[k].text) < SHORT_CHARS]
    long = [k for k in positive if len(items[k].text) >= SHORT_CHARS]
    by_source_positive = {
        source: recall([k for k in positive if items[k].source == source])
        for source in sorted({items[k].source for k in positive})
    }
    by_source_negative = {}
    for source in sorted({items[k].source for k in negative}):
        indices = [k for k in negative if items[k].source == source]
        by_source_negative[source] = {
            "n": len(indices),
            "false_escalation": ratio(int(escalated[indices].sum()), len(indices)),
        }
    strong = [k for k in range(len(items)) if not items[k].weak]
    return {
        "needs_person": recall(positive),
        "needs_person_short": recall(short),
        "needs_person_long": recall(long),
        "needs_person_by_source": by_source_positive,
        "false_escalation": {
            "n": len(negative),
            "rate": ratio(int(escalated[negative].sum()), len(negative)),
        },
        "false_escalation_by_source": by_source_negative,
        "reasons": per_class(
            [items[k].label for k in strong],
            [predicted[k] or NONE_LABEL for k in strong],
            REASONS,
        ),
        "missed": [items[k].text[:160] for k in positive if not escalated[k]],
        "false_escalations": [
            f"{items[k].text[:160]} -> {predicted[k]}" for k in negative if escalated[k]
        ],
    }


def corpus(paths: Paths, seed: int, lexicon: Callable[[str], str | None]) -> list[Item]:
    """Every item with its split (the narratives' reasons inferred with ``lexicon``)."""
    weak = public_items(paths, seed, lexicon)
    return deduplicate(own_items(paths, seed) + weak)


def train(
    paths: Paths,
    embedder: Any,
    lexicon: Callable[[str], str | None],
    *,
    seed: int = SEED,
    c: float = 16.0,
    max_false_rate: float = 0.02,
    cache: Path | None = None,
    artifact: Path = DEFAULT_ARTIFACT,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    started = time.perf_counter()
    items = corpus(paths, seed, lexicon)
    by_split = {s: [i for i in items if i.split == s] for s in ("train", "val", "test")}
    log("items: " + ", ".join(f"{s} {len(v)}" for s, v in by_split.items()))
    embeddings = EmbeddingCache(embedder, cache)
    arrays = fit(by_split["train"], embeddings.embed, c)
    log(f"fitted in {time.perf_counter() - started:.1f} s")
    val_scores = score_items(by_split["val"], arrays, embeddings.embed, lexicon)
    threshold, sentence_threshold, on_val = choose_thresholds(
        by_split["val"], val_scores, max_false_rate
    )
    log(f"thresholds {threshold} / {sentence_threshold} (validation: {on_val})")
    test_scores = score_items(by_split["test"], arrays, embeddings.embed, lexicon)
    report = {
        "validation": measure(
            by_split["val"],
            predictions(val_scores, decide(val_scores, threshold, sentence_threshold)),
        ),
        "test": measure(
            by_split["test"],
            predictions(test_scores, decide(test_scores, threshold, sentence_threshold)),
        ),
    }
    card = {
        "model": "escalation",
        "classes": CLASSES,
        "threshold": threshold,
        "sentence_threshold": sentence_threshold,
        "seed": seed,
        "C": c,
        "max_false_rate": max_false_rate,
        "hash_features": HASH_FEATURES,
        "char_features": CHAR_FEATURES,
        "embedding_weight": EMBEDDING_WEIGHT,
        "embedding_model": "all-MiniLM-L6-v2",
        "embedding_dimension": int(embedder.dimension),
        "data": {s: dict(Counter(i.source for i in v)) for s, v in by_split.items()},
        "rebuild": "loan-agent train escalation",
        "report": report,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    digest = save_artifact(artifact, arrays, card)
    log(f"wrote {artifact} (sha256 {digest[:12]}…) in {card['training_seconds']} s")
    return card
