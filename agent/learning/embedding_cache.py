"""A disk cache of sentence embeddings for training runs (re-training after a data or
setting change embeds only the new texts). Keyed by the embedding model's name and the
text's sha1; never used at serving time."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, embedder: Embedder, path: Path | None, batch: int = 256) -> None:
        self._embedder = embedder
        self._path = path
        self._batch = batch
        self._vectors: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            with np.load(path, allow_pickle=False) as data:
                keys, matrix = data["keys"], data["vectors"]
            if matrix.shape[1:] == (embedder.dimension,):
                self._vectors = dict(zip(keys.tolist(), matrix, strict=True))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if _key(t) not in self._vectors))
        for start in range(0, len(missing), self._batch):
            chunk = missing[start : start + self._batch]
            for text, vector in zip(chunk, self._embedder.embed(chunk), strict=True):
                self._vectors[_key(text)] = np.asarray(vector, dtype=np.float32)
            if (start // self._batch) % 16 == 15:
                self.save()  # a long first run keeps what it has embedded so far
        if missing:
            self.save()
        if not texts:
            return np.zeros((0, self._embedder.dimension), dtype=np.float32)
        return np.vstack([self._vectors[_key(t)] for t in texts])

    def save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors))
        matrix = np.vstack(list(self._vectors.values())).astype(np.float32)
        temporary = self._path.with_suffix(".tmp.npz")
        np.savez(temporary, keys=keys, vectors=matrix)
        temporary.replace(self._path)
