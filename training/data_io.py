"""Data scientists' files in, one validated dataset out (the readers of each format are
``training.readers``).

Every file is read in full and every bad row is collected as (file, line, reason) before
anything is built: a run either gets the whole dataset or a :class:`LoadError` listing all
problems, so a model is never trained on half-loaded data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.features import FeatureList
from training.readers import LoadError, RowProblem, read_features, read_interactions, read_item_text
from training.dataset import (
    ITEM_IDENTITY_PREFIX,
    USER_IDENTITY_PREFIX,
    InteractionData,
    feature_matrix,
)


@dataclass
class WorkbenchData:
    """A dataset plus what the workbench needs beyond :class:`InteractionData`.

    ``data`` carries the default feature matrices (identity plus every given feature);
    the raw feature lists are kept so a named configuration can choose its own recipe
    (e.g. no features for a library reference, genres plus text components for a hybrid).
    """

    data: InteractionData
    item_features: Mapping[str, FeatureList] = field(default_factory=dict)
    user_features: Mapping[str, FeatureList] = field(default_factory=dict)
    item_texts: dict[str, str] = field(default_factory=dict)
    timestamps: sp.csr_matrix | None = None
    predefined: tuple[sp.csr_matrix, sp.csr_matrix] | None = None
    source: str = "files"
    notes: list[str] = field(default_factory=list)  # what the loader chose to tell the user

    def fingerprint(self) -> str:
        """Identifies the data a result was measured on (ids and matrix contents)."""
        digest = hashlib.sha256()
        m = self.data.interactions
        for part in (self.data.user_ids, self.data.item_ids):
            digest.update("\x1f".join(part).encode())
        for arr in (m.indptr, m.indices, m.data):
            digest.update(np.ascontiguousarray(arr).tobytes())
        return digest.hexdigest()[:16]


# ----------------------------------------------------------------------------- embeddings
def embed_with_cache(
    texts: Sequence[str], cache_dir: Path | None, threads: int | None = None,
    progress: bool = False, model_path: str | None = None, batch_size: int = 64,
) -> np.ndarray:
    """Embed texts with the configured encoder (``model_path``; None: the packaged one),
    reusing every vector already in the per-text cache under ``cache_dir``.

    Loading the encoder and encoding a few thousand texts costs a minute on two cores; the
    cache is keyed per text (model name, sha256), so a rerun encodes only new or changed
    texts and loads no model at all when there are none, and it shares what
    ``solace embed --item-text`` stored.
    """
    from core.encoder import get_encoder, model_name
    from storage.embeddings import TextVectorCache, embed_cached

    cache = None
    if cache_dir is not None:
        for stale in cache_dir.glob("emb-*.npy"):  # the former whole-list cache, never read now
            stale.unlink(missing_ok=True)
        cache = TextVectorCache.in_dir(cache_dir)
    try:
        vectors, _report = embed_cached(
            texts, cache, model_name(model_path), lambda: get_encoder(model_path, threads),
            batch_size=batch_size, progress=progress,
        )
    finally:
        if cache is not None:
            cache.close()
    return vectors


# ----------------------------------------------------------------------------- assembly
def timestamp_matrix(
    stamps: Mapping[tuple[str, str], float], user_ids: Sequence[str], item_ids: Sequence[str],
    like: sp.csr_matrix,
) -> sp.csr_matrix:
    """Timestamps aligned entry by entry with ``like`` (what :func:`time_split` needs)."""
    coo = like.tocoo()
    rev_u = np.asarray(user_ids, dtype=object)
    rev_i = np.asarray(item_ids, dtype=object)
    values = np.array([stamps.get((rev_u[r], rev_i[c]), 0.0) for r, c in zip(coo.row, coo.col)],
                      dtype=np.float64)
    out = sp.csr_matrix((values, (coo.row, coo.col)), shape=like.shape)
    out.sort_indices()
    return out


def assemble(
    weights: Mapping[tuple[str, str], float],
    item_features: Mapping[str, FeatureList] | None = None,
    user_features: Mapping[str, FeatureList] | None = None,
    item_texts: dict[str, str] | None = None,
    stamps: Mapping[tuple[str, str], float] | None = None,
    item_embeddings: Mapping[str, np.ndarray] | None = None,
    extra_items: Sequence[str] = (),
    extra_users: Sequence[str] = (),
    source: str = "files",
) -> WorkbenchData:
    """Index users and items, build the matrices; items known only from side files stay
    in the catalog (with no interactions) so new items can be recommended."""
    item_features = item_features or {}
    user_features = user_features or {}
    item_texts = item_texts or {}
    user_set = {u for u, _ in weights} | set(user_features) | set(extra_users)
    item_set = {i for _, i in weights} | set(item_features) | set(item_texts) | set(extra_items)
    user_ids = sorted(user_set, key=_natural)
    item_ids = sorted(item_set, key=_natural)
    uidx = {u: n for n, u in enumerate(user_ids)}
    iidx = {i: n for n, i in enumerate(item_ids)}
    rows = np.fromiter((uidx[u] for u, _ in weights), dtype=np.int64, count=len(weights))
    cols = np.fromiter((iidx[i] for _, i in weights), dtype=np.int64, count=len(weights))
    vals = np.fromiter(weights.values(), dtype=np.float32, count=len(weights))
    matrix = sp.csr_matrix((vals, (rows, cols)), shape=(len(user_ids), len(item_ids)))
    matrix.sort_indices()
    ifm, inames = feature_matrix(item_ids, item_features, identity_prefix=ITEM_IDENTITY_PREFIX)
    ufm, unames = feature_matrix(user_ids, user_features, identity_prefix=USER_IDENTITY_PREFIX)
    emb = None
    if item_embeddings is not None:
        emb = np.vstack([item_embeddings[i] for i in item_ids]).astype(np.float32)
    data = InteractionData(
        user_ids=user_ids, item_ids=item_ids, interactions=matrix,
        user_features=ufm, user_feature_names=unames,
        item_features=ifm, item_feature_names=inames, item_embeddings=emb,
    )
    ts = None if stamps is None else timestamp_matrix(stamps, user_ids, item_ids, matrix)
    return WorkbenchData(data, item_features, user_features, item_texts, ts, None, source)


def _natural(key: str) -> tuple[int, int | str]:
    """Numeric ids in numeric order, then the others alphabetically (stable, readable)."""
    return (0, int(key)) if key.isdigit() else (1, key)


def load_files(
    interactions: Path,
    item_text: Path | None = None,
    item_features: Path | None = None,
    user_features: Path | None = None,
    event_weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
    embed: bool = True,
    cache_dir: Path | None = None,
    threads: int | None = None,
    progress: bool = False,
    named_event_types: Sequence[str] = (),
    model_path: str | None = None,
    batch_size: int = 64,
) -> WorkbenchData:
    """Read every given file, and only if all are clean build the dataset.

    Item texts, when given, are embedded (cached per text, see :func:`embed_with_cache`)
    so the content baseline and the text features of the hybrids can use them; every item
    then needs a text.
    """
    problems: list[RowProblem] = []
    raw = read_interactions(interactions, event_weights, half_life_days, problems)
    texts = read_item_text(item_text, problems) if item_text else {}
    ifeat = read_features(item_features, "item_id", problems) if item_features else {}
    ufeat = read_features(user_features, "user_id", problems) if user_features else {}
    if problems:
        raise LoadError(problems)
    if not raw.weights:
        raise LoadError([RowProblem(interactions.name, 0, "no positive interactions")])
    items = {i for _, i in raw.weights} | set(ifeat) | set(texts)
    if texts:
        missing = sorted(items - set(texts), key=_natural)
        if missing:
            raise LoadError([RowProblem(item_text.name if item_text else "item text", 0,
                                        f"no text for {len(missing)} item(s), e.g. {', '.join(missing[:3])}")])
    emb_map = None
    if texts and embed:
        order = sorted(texts, key=_natural)
        vectors = embed_with_cache([texts[i] for i in order], cache_dir, threads, progress, model_path, batch_size)
        emb_map = dict(zip(order, vectors))
    wb = assemble(raw.weights, ifeat, ufeat, texts, raw.timestamps, emb_map, source="files")
    wb.notes += _event_weight_notes(interactions.name, raw.event_types, named_event_types)
    return wb


def _event_weight_notes(name: str, seen: set[str] | None, named: Sequence[str]) -> list[str]:
    """A weight given for an event type the file does not have is most likely a typo."""
    if not named:
        return []
    if seen is None:
        return [f"{name} has no event column: --event-weight is not used (give a weight column instead)"]
    absent = [t for t in named if t not in seen]
    if not absent:
        return []
    return [f"--event-weight {', '.join(absent)}: no event of that type in {name} "
            f"(its types: {', '.join(sorted(seen)) or 'none'})"]
