"""Precision, recall and threshold choice on labelled predictions."""

from __future__ import annotations

from collections.abc import Sequence


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def per_class(
    expected: Sequence[str], predicted: Sequence[str], classes: Sequence[str]
) -> dict[str, dict[str, float | int | None]]:
    rows: dict[str, dict[str, float | int | None]] = {}
    for label in classes:
        support = sum(1 for e in expected if e == label)
        guessed = sum(1 for p in predicted if p == label)
        hits = sum(1 for e, p in zip(expected, predicted, strict=True) if e == p == label)
        rows[label] = {
            "support": support,
            "predicted": guessed,
            "precision": ratio(hits, guessed),
            "recall": ratio(hits, support),
        }
    return rows
