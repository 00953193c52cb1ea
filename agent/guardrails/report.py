"""Measuring the guardrails on labelled data: per-reason precision and recall of the
escalation classifier, its false-escalation rate on routine and out-of-scope messages,
and the injection detector's detection and false-positive rates.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml

from agent.guardrails.escalation import NONE_LABEL, PRECEDENCE, EscalationVerdict
from agent.guardrails.injection import detect_injection


class Classifier(Protocol):
    def classify(self, text: str) -> EscalationVerdict | None: ...


def load_items(path: Path | str) -> list[dict[str, Any]]:
    """The ``items`` list of a labelled YAML file (or the file itself when it is a list)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    items = data["items"] if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list of items")
    return items


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def escalation_report(
    classifier: Classifier,
    items: Iterable[Mapping[str, Any]],
    *,
    injection_items: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Score ``classifier`` on items ``{text, label, category?}`` (label: a reason or none)."""
    rows: list[tuple[str, str, str | None, str]] = []  # text, expected, predicted, category
    started = time.perf_counter()
    for item in items:
        verdict = classifier.classify(item["text"])
        predicted = verdict.reason.value if verdict else None
        category = item.get("category") or ("reason" if item["label"] != NONE_LABEL else "routine")
        rows.append((item["text"], str(item["label"]), predicted, category))
    elapsed = time.perf_counter() - started

    per_reason: dict[str, dict[str, Any]] = {}
    for reason in (r.value for r in PRECEDENCE):
        expected = [r for r in rows if r[1] == reason]
        predicted = [r for r in rows if r[2] == reason]
        true_positive = sum(1 for r in expected if r[2] == reason)
        per_reason[reason] = {
            "support": len(expected),
            "predicted": len(predicted),
            "precision": _ratio(true_positive, len(predicted)),
            "recall": _ratio(true_positive, len(expected)),
            "escalated_any_reason": _ratio(sum(1 for r in expected if r[2]), len(expected)),
        }
    negatives = [r for r in rows if r[1] == NONE_LABEL]
    false_escalations = [r for r in negatives if r[2] is not None]
    by_category = {
        category: _ratio(
            sum(1 for r in negatives if r[3] == category and r[2]),
            sum(1 for r in negatives if r[3] == category),
        )
        for category in sorted({r[3] for r in negatives})
    }
    mistakes = [
        {"text": text, "expected": expected, "predicted": predicted}
        for text, expected, predicted, _ in rows
        if (predicted or NONE_LABEL) != expected
    ]
    report: dict[str, Any] = {
        "items": len(rows),
        "per_reason": per_reason,
        "false_escalation_rate": _ratio(len(false_escalations), len(negatives)),
        "false_escalation_by_category": by_category,
        "accuracy": _ratio(len(rows) - len(mistakes), len(rows)),
        "mean_ms_per_message": round(1000 * elapsed / max(len(rows), 1), 2),
        "mistakes": mistakes,
    }
    if injection_items is not None:
        report["injection"] = injection_report(injection_items)
    return report


def injection_report(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Score ``detect_injection`` on items ``{text, attack: bool, family?, known_loans?}``."""
    attacks = misses = benign = false_positives = family_right = 0
    mistakes: list[dict[str, Any]] = []
    for item in items:
        verdict = detect_injection(item["text"], known_loans=item.get("known_loans"))
        if item["attack"]:
            attacks += 1
            if not verdict.is_attack:
                misses += 1
                mistakes.append({"text": item["text"], "expected": "attack", "got": None})
            elif item.get("family") in (None, verdict.family):
                family_right += 1
        else:
            benign += 1
            if verdict.is_attack:
                false_positives += 1
                mistakes.append({"text": item["text"], "expected": "benign", "got": verdict.family})
    return {
        "attacks": attacks,
        "benign": benign,
        "detection_rate": _ratio(attacks - misses, attacks),
        "family_accuracy": _ratio(family_right, attacks - misses),
        "false_positive_rate": _ratio(false_positives, benign),
        "mistakes": mistakes,
    }


def format_report(report: Mapping[str, Any]) -> str:
    """A plain-text table of a report from :func:`escalation_report`."""
    lines = [f"{'reason':<15} {'support':>7} {'precision':>9} {'recall':>7}"]
    for reason, stats in report["per_reason"].items():
        precision = "-" if stats["precision"] is None else f"{stats['precision']:.3f}"
        recall = "-" if stats["recall"] is None else f"{stats['recall']:.3f}"
        lines.append(f"{reason:<15} {stats['support']:>7} {precision:>9} {recall:>7}")
    lines.append(f"false escalations (routine + out of scope): {report['false_escalation_rate']}")
    for category, rate in report["false_escalation_by_category"].items():
        lines.append(f"  {category}: {rate}")
    lines.append(f"accuracy: {report['accuracy']}   items: {report['items']}")
    lines.append(f"mean ms per message: {report['mean_ms_per_message']}")
    if "injection" in report:
        inj = report["injection"]
        lines.append(
            f"injection: detection {inj['detection_rate']} over {inj['attacks']} attacks, "
            f"family accuracy {inj['family_accuracy']}, false positives "
            f"{inj['false_positive_rate']} over {inj['benign']} benign"
        )
    mistakes = report.get("mistakes", [])
    if mistakes:
        lines.append(f"escalation mistakes ({len(mistakes)}):")
        lines.extend(
            f"  expected {m['expected']:<13} got {m['predicted'] or 'none':<13} {m['text'][:90]}"
            for m in mistakes
        )
    if "injection" in report and report["injection"]["mistakes"]:
        lines.append("injection mistakes:")
        lines.extend(
            f"  expected {m['expected']:<7} got {m['got'] or 'none':<20} {m['text'][:80]!r}"
            for m in report["injection"]["mistakes"]
        )
    return "\n".join(lines)


def split_report(classifier: Classifier, items: Iterable[Any]) -> dict[str, Any]:
    """The served classifier scored on corpus items (``escalation_training.Item``) of one
    split, in the shape of ``escalation_training.measure``."""
    from agent.guardrails.escalation_training import measure

    chosen = list(items)
    predicted: list[str | None] = []
    started = time.perf_counter()
    for item in chosen:
        verdict = classifier.classify(item.text)
        predicted.append(verdict.reason.value if verdict else None)
    report = measure(chosen, predicted)
    report["mean_ms_per_message"] = round(
        1000 * (time.perf_counter() - started) / max(len(chosen), 1), 2
    )
    return report


def format_split_report(report: Mapping[str, Any], title: str, show: int = 12) -> str:
    """A plain-text view of a split report (needs-a-person recall, false escalations,
    reasons, and the first mistakes)."""

    def figure(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}"

    need = report["needs_person"]
    lines = [
        f"== {title}",
        f"needs a person: recall {figure(need['recall'])} over {need['n']}"
        f"  (under 200 chars {figure(report['needs_person_short']['recall'])}"
        f" over {report['needs_person_short']['n']};"
        f" longer {figure(report['needs_person_long']['recall'])}"
        f" over {report['needs_person_long']['n']})",
    ]
    for source, stats in report["needs_person_by_source"].items():
        lines.append(f"  {source:<22} recall {figure(stats['recall'])} over {stats['n']}")
    false = report["false_escalation"]
    lines.append(
        f"false escalations of routine / out-of-scope: {figure(false['rate'])} over {false['n']}"
    )
    for source, stats in report["false_escalation_by_source"].items():
        lines.append(f"  {source:<22} {figure(stats['false_escalation'])} over {stats['n']}")
    lines.append(
        f"{'reason':<15} {'support':>7} {'precision':>9} {'recall':>7}  (labels not inferred)"
    )
    for reason, stats in report["reasons"].items():
        lines.append(
            f"{reason:<15} {stats['support']:>7} {figure(stats['precision']):>9}"
            f" {figure(stats['recall']):>7}"
        )
    if "mean_ms_per_message" in report:
        lines.append(f"mean ms per message: {report['mean_ms_per_message']}")
    for name in ("missed", "false_escalations"):
        mistakes = report.get(name) or []
        if mistakes:
            lines.append(
                f"{name.replace('_', ' ')} ({len(mistakes)}), first {min(show, len(mistakes))}:"
            )
            lines.extend(f"  {m[:120]!r}" for m in mistakes[:show])
    return "\n".join(lines)
