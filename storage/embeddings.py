"""Stored text vectors: catalog text to vectors, incremental by content hash.

Vectors are stored in SQL with the model's name and dimension, so a re-run with an
unchanged catalog encodes nothing, and a change of model re-encodes everything.

Texts from a data scientist's files (item texts, MovieLens plots) have no catalog id, so
they go to a :class:`TextVectorCache` keyed by model name and the text's own hash: the same
text in two files is encoded once, and changing one text re-encodes exactly that text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, create_engine, delete, event, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.encoder import EncoderLike
from storage.tables import cache_metadata, embeddings_table, text_vectors_table


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


# ----------------------------------------------------------------------------- file texts
# The cache is a local SQLite file beside the data with its own metadata (storage.tables),
# not part of Solace's migrated schema.
TEXT_CACHE_FILE = "text-embeddings.sqlite"
_LOOKUP_CHUNK = 500  # below SQLite's bound-parameter limit on every version


class TextVectorCache:
    """Vectors of texts by (model name, sha256 of the text), in one SQLite file.

    Text-keyed rather than id-keyed so that it serves every file and MovieLens plots alike.
    Writes are insert-or-ignore: two processes encoding the same text store the same vector.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

        @event.listens_for(self.engine, "connect")
        def _wal(dbapi_conn, _record):
            # concurrent readers (tune workers) while one process writes
            dbapi_conn.execute("PRAGMA journal_mode=WAL")

        cache_metadata.create_all(self.engine)

    @classmethod
    def in_dir(cls, cache_dir: Path) -> TextVectorCache:
        return cls(cache_dir / TEXT_CACHE_FILE)

    def get(self, model_name: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors among ``hashes`` (missing ones are simply absent)."""
        t = text_vectors_table
        found: dict[str, np.ndarray] = {}
        wanted = list(dict.fromkeys(hashes))
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _LOOKUP_CHUNK):
                rows = conn.execute(
                    select(t.c.text_hash, t.c.dim, t.c.vector).where(
                        t.c.model_name == model_name, t.c.text_hash.in_(wanted[start : start + _LOOKUP_CHUNK])
                    )
                ).all()
                for r in rows:
                    vec = np.frombuffer(r.vector, dtype=np.float32)
                    if vec.shape[0] == r.dim:  # a torn row is re-encoded, never served
                        found[r.text_hash] = vec
        return found

    def put(self, model_name: str, vectors: dict[str, np.ndarray]) -> None:
        if not vectors:
            return
        rows = [
            {"model_name": model_name, "text_hash": h, "dim": int(v.shape[0]),
             "vector": np.asarray(v, dtype=np.float32).tobytes()}
            for h, v in vectors.items()
        ]
        with self.engine.begin() as conn:
            conn.execute(sqlite_insert(text_vectors_table).on_conflict_do_nothing(), rows)

    def count(self, model_name: str | None = None) -> int:
        t = text_vectors_table
        query = select(func.count()).select_from(t)
        if model_name is not None:
            query = query.where(t.c.model_name == model_name)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def close(self) -> None:
        self.engine.dispose()


def embed_cached(
    texts: Sequence[str],
    cache: TextVectorCache | None,
    model_name: str,
    encoder: Callable[[], EncoderLike],
    batch_size: int = 64,
    progress: bool = False,
) -> tuple[np.ndarray, EmbedReport]:
    """Vectors of ``texts`` in order, encoding only the distinct texts the cache lacks.

    ``encoder`` is a factory called only when something must be encoded: loading the model
    costs seconds, and an unchanged file should cost none of them. The report counts
    distinct texts. Vectors are stored chunk by chunk, so an interrupted run keeps what it
    encoded.
    """
    hashes = [text_hash(t) for t in texts]
    unique = dict(zip(hashes, texts))
    found = cache.get(model_name, list(unique)) if cache is not None else {}
    todo = [h for h in unique if h not in found]
    if todo:
        enc = encoder()
        if enc.name != model_name:
            raise ValueError(f"encoder {enc.name!r} asked to store vectors as {model_name!r}")
        for start in range(0, len(todo), 4096):
            chunk = todo[start : start + 4096]
            vectors = enc.encode([unique[h] for h in chunk], batch_size=batch_size, progress=progress)
            new = dict(zip(chunk, vectors))
            if cache is not None:
                cache.put(model_name, new)
            found.update(new)
    report = EmbedReport(total=len(unique), encoded=len(todo), reused=len(unique) - len(todo))
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), report
    return np.vstack([found[h] for h in hashes]).astype(np.float32, copy=False), report
