"""Model artifacts: arrays in a ``.npz`` file, a JSON card beside it with the file's
sha256, how it was trained and what it measured. Loading refuses a file whose hash does
not match its card (a half-written, edited or stale artifact never loads)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np


class ArtifactError(RuntimeError):
    """The artifact is missing, unreadable, or not the file its card describes."""


def card_path(path: Path) -> Path:
    return path.with_suffix(".json")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_artifact(path: Path, arrays: dict[str, np.ndarray], card: dict[str, Any]) -> str:
    """Write the arrays and the card; return the sha256 of the arrays file.

    ``np.savez_compressed`` writes zip timestamps, so the bytes are built in memory with
    fixed entries order; the same arrays give the same file."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{k: arrays[k] for k in sorted(arrays)})
    data = buffer.getvalue()
    digest = _sha256(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    card_path(path).write_text(
        json.dumps({**card, "sha256": digest}, indent=2, sort_keys=True, default=str) + "\n",
        encoding="utf-8",
    )
    return digest


def load_artifact(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    card_file = card_path(path)
    if not path.is_file() or not card_file.is_file():
        raise ArtifactError(f"{path}: model artifact or its card {card_file.name} is missing")
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ArtifactError(f"{card_file}: unreadable card ({exc})") from exc
    data = path.read_bytes()
    actual = _sha256(data)
    if actual != card.get("sha256"):
        raise ArtifactError(
            f"{path}: sha256 {actual} does not match its card ({card.get('sha256')}); "
            "rebuild it with the command in the card"
        )
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return arrays, card


def check_embedding_dimension(card: dict[str, Any], embedder: Any, model: str) -> None:
    """Refuse an embedder of another size than the one the model was trained on."""
    expected = int(card["embedding_dimension"])
    if getattr(embedder, "dimension", expected) != expected:
        raise ArtifactError(
            f"the {model} model was trained on {card['embedding_model']} ({expected} "
            f"dimensions); the embedder given has {embedder.dimension}"
        )
