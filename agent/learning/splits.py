"""Fixed, seeded train / validation / test splits.

An item's split depends only on the seed and the item's own key (its text), never on
the order or size of the data set: adding data never moves an old test item into
training."""

from __future__ import annotations

import hashlib
from typing import Literal

Split = Literal["train", "val", "test"]
DEFAULT_FRACTIONS = (0.70, 0.15, 0.15)


def split_of(
    key: str, seed: int, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
) -> Split:
    digest = hashlib.sha256(f"{seed}\x00{key.strip().lower()}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    if position < fractions[0]:
        return "train"
    if position < fractions[0] + fractions[1]:
        return "val"
    return "test"
