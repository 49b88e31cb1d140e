"""The embedding job: catalog text to vectors, incremental by content hash.

Vectors are stored in SQL with the model's name and dimension, so a re-run with an
unchanged catalog encodes nothing, and a change of model re-encodes everything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    select,
)

from solace.db import metadata

embeddings_table = Table(
    "item_embeddings",
    metadata,
    Column("item_id", String(80), primary_key=True),
    Column("model_name", String(120), primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("text_hash", String(64), nullable=False),
    Column("vector", LargeBinary, nullable=False),
)


class EncoderLike(Protocol):
    name: str
    dim: int

    def encode(
        self, texts: list[str], batch_size: int = ..., progress: bool = ...
    ) -> np.ndarray: ...


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class EmbedReport:
    total: int
    encoded: int
    reused: int


class EmbeddingStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def hashes(self, model_name: str) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(embeddings_table.c.item_id, embeddings_table.c.text_hash).where(
                    embeddings_table.c.model_name == model_name
                )
            ).all()
        return {r.item_id: r.text_hash for r in rows}

    def put(self, model_name: str, rows: dict[str, tuple[str, np.ndarray]]) -> None:
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(
                delete(embeddings_table).where(
                    embeddings_table.c.model_name == model_name,
                    embeddings_table.c.item_id.in_(list(rows)),
                )
            )
            conn.execute(
                embeddings_table.insert(),
                [
                    {
                        "item_id": item_id, "model_name": model_name, "dim": int(vec.shape[0]),
                        "text_hash": h, "vector": np.asarray(vec, dtype=np.float32).tobytes(),
                    }
                    for item_id, (h, vec) in rows.items()
                ],
            )

    def vectors(self, model_name: str, item_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The embeddings that exist for ``item_ids`` (missing ones are simply absent)."""
        wanted = set(item_ids)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(embeddings_table.c.item_id, embeddings_table.c.vector)
                .where(embeddings_table.c.model_name == model_name)
            ).all()
        return {r.item_id: np.frombuffer(r.vector, dtype=np.float32) for r in rows if r.item_id in wanted}

    def matrix(self, model_name: str, item_ids: Sequence[str]) -> np.ndarray:
        """Embeddings in ``item_ids`` order; a missing item raises KeyError."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(embeddings_table.c.item_id, embeddings_table.c.dim, embeddings_table.c.vector)
                .where(embeddings_table.c.model_name == model_name)
            ).all()
        found = {r.item_id: np.frombuffer(r.vector, dtype=np.float32) for r in rows}
        missing = [i for i in item_ids if i not in found]
        if missing:
            raise KeyError(f"no embedding for {len(missing)} items, e.g. {missing[:3]}")
        if not item_ids:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([found[i] for i in item_ids])


def embed_texts(
    texts: dict[str, str],
    store: EmbeddingStore,
    encoder: EncoderLike,
    batch_size: int = 64,
    progress: bool = False,
) -> EmbedReport:
    """Encode only the items whose text changed since the last run with this model."""
    known = store.hashes(encoder.name)
    todo = {i: t for i, t in texts.items() if known.get(i) != text_hash(t)}
    ids = list(todo)
    for start in range(0, len(ids), 4096):
        chunk = ids[start : start + 4096]
        vectors = encoder.encode([todo[i] for i in chunk], batch_size=batch_size, progress=progress)
        store.put(encoder.name, {i: (text_hash(todo[i]), v) for i, v in zip(chunk, vectors)})
    return EmbedReport(total=len(texts), encoded=len(todo), reused=len(texts) - len(todo))
