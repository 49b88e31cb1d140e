"""Feature recipes: the item and user feature matrices one configuration trains on, built
only from what training may know (the items seen in the training part)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from training.configs import ModelConfig, require_item_texts
from training.data_io import WorkbenchData
from training.dataset import ITEM_IDENTITY_PREFIX, USER_IDENTITY_PREFIX, InteractionData, feature_matrix

# ----------------------------------------------------------------------------- features
def text_components(embeddings: np.ndarray, fit_rows: np.ndarray, n: int, random_state: int) -> np.ndarray:
    """PCA of the text embeddings fitted on ``fit_rows`` only (the items seen in training),
    then applied to every item: a new item is projected exactly as at serving time."""
    from sklearn.decomposition import PCA

    n = max(1, min(n, int(fit_rows.sum()) - 1, embeddings.shape[1]))
    pca = PCA(n_components=n, random_state=random_state).fit(embeddings[fit_rows])
    return pca.transform(embeddings).astype(np.float32)


def text_clusters(embeddings: np.ndarray, fit_rows: np.ndarray, n: int, random_state: int) -> np.ndarray:
    """k-means clusters fitted on the training items; every item gets its nearest centroid."""
    from sklearn.cluster import KMeans

    n = max(1, min(n, int(fit_rows.sum())))
    km = KMeans(n_clusters=n, n_init=4, random_state=random_state).fit(embeddings[fit_rows])
    return km.predict(embeddings)


def item_feature_matrix(
    wb: WorkbenchData, cfg: ModelConfig, train: sp.csr_matrix, random_state: int
) -> tuple[sp.csr_matrix | None, list[str]]:
    """The item features of one configuration, built from what training may know.

    The sparse part (ids, given features, cluster tokens) is row-normalised by
    :func:`feature_matrix`; the dense text components are scaled to L1 norm 1 and
    weighted by ``text_share``, so every item row has the same total weight whatever its
    number of features, which is what lets a cold item's features-only row land on the
    same scale as a warm item's.
    """
    if not cfg.item_parts:
        return None, []
    data = wb.data
    emb = data.item_embeddings
    seen = np.asarray((train > 0).sum(axis=0)).ravel() > 0
    lists: dict[str, list[tuple[str, float]]] = {i: [] for i in data.item_ids}
    if "features" in cfg.item_parts:
        for item, feats in wb.item_features.items():
            if item in lists:
                lists[item].extend(feats)
    if "text-clusters" in cfg.item_parts:
        assert emb is not None
        labels = text_clusters(emb, seen, cfg.text_clusters, random_state)
        for n, item in enumerate(data.item_ids):
            lists[item].append((f"text-cluster:{labels[n]}", 1.0))
    if cfg.feature_weight is not None:
        return _weighted_item_features(data, cfg, lists, seen, random_state)
    if "identity" in cfg.item_parts:
        # Only items seen in training get an id feature: an unseen (cold) item's id vector
        # would be untrained noise, so its vector comes from its features and text alone.
        for n, item in enumerate(data.item_ids):
            if seen[n]:
                lists[item].insert(0, (f"{ITEM_IDENTITY_PREFIX}{item}", 1.0))
    sparse_part, names = feature_matrix(data.item_ids, lists, identity_prefix=None)
    if "text-pca" not in cfg.item_parts:
        return sparse_part, names
    assert emb is not None
    comps = text_components(emb, seen, cfg.text_components, random_state)
    comps /= np.maximum(np.abs(comps).sum(axis=1, keepdims=True), 1e-12)
    share = float(cfg.text_share)
    has_sparse = np.asarray(sparse_part.sum(axis=1)).ravel() > 0
    # an item with no sparse features gets its whole row from the text
    dense_weight = np.where(has_sparse, share, 1.0).astype(np.float32)
    matrix = sp.hstack([
        sp.diags(1.0 - dense_weight) @ sparse_part,
        sp.csr_matrix(comps * dense_weight[:, None]),
    ]).tocsr().astype(np.float32)
    return matrix, names + [f"text-pc:{n}" for n in range(comps.shape[1])]


def _raw_matrix(ids: Sequence[str], lists: Mapping[str, Sequence[tuple[str, float]]]) -> tuple[sp.csr_matrix, list[str]]:
    index: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for r, e in enumerate(ids):
        for name, w in lists.get(e, ()):
            rows.append(r)
            cols.append(index.setdefault(name, len(index)))
            vals.append(float(w))
    m = sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(ids), len(index)))
    m.sum_duplicates()
    return m, list(index)


def _weighted_item_features(
    data: InteractionData, cfg: ModelConfig, lists: Mapping[str, Sequence[tuple[str, float]]],
    seen: np.ndarray, random_state: int,
) -> tuple[sp.csr_matrix, list[str]]:
    """Rows ``[id (seen items only), feature_weight * features, text_share * components]``.

    An unseen item has no id; its row is scaled to L1 norm 1, as a normalised hybrid
    would place it, so its vector comes from its features and text alone at a scale
    comparable to the warm items it competes with.
    """
    assert cfg.feature_weight is not None
    feats, names = _raw_matrix(data.item_ids, lists)
    blocks = [feats * float(cfg.feature_weight)]
    if "text-pca" in cfg.item_parts:
        assert data.item_embeddings is not None
        comps = text_components(data.item_embeddings, seen, cfg.text_components, random_state)
        comps /= np.maximum(np.abs(comps).sum(axis=1, keepdims=True), 1e-12)
        blocks.append(sp.csr_matrix(comps * float(cfg.text_share)))
        names = names + [f"text-pc:{n}" for n in range(comps.shape[1])]
    if "identity" in cfg.item_parts:
        seen_rows = np.flatnonzero(seen)
        ident = sp.csr_matrix((np.ones(len(seen_rows), dtype=np.float32), (seen_rows, np.arange(len(seen_rows)))),
                              shape=(len(data.item_ids), len(seen_rows)))
        blocks.insert(0, ident)
        names = [f"{ITEM_IDENTITY_PREFIX}{data.item_ids[r]}" for r in seen_rows] + names
    matrix = sp.hstack(blocks).tocsr().astype(np.float32)
    l1 = np.asarray(abs(matrix).sum(axis=1)).ravel()
    scale = np.where(~seen & (l1 > 0), 1.0 / np.maximum(l1, 1e-12), 1.0).astype(np.float32)
    return (sp.diags(scale) @ matrix).tocsr().astype(np.float32), names


def user_feature_matrix(wb: WorkbenchData, cfg: ModelConfig) -> tuple[sp.csr_matrix | None, list[str]]:
    if not cfg.user_parts:
        return None, []
    identity = USER_IDENTITY_PREFIX if "identity" in cfg.user_parts else None
    feats = wb.user_features if "features" in cfg.user_parts else {}
    if cfg.feature_weight is not None:
        weighted = {u: [(f, w * float(cfg.feature_weight)) for f, w in fl] for u, fl in feats.items()}
        if identity:
            for u in wb.data.user_ids:
                weighted[u] = [(f"{USER_IDENTITY_PREFIX}{u}", 1.0)] + weighted.get(u, [])
        return _raw_matrix(wb.data.user_ids, weighted)
    return feature_matrix(wb.data.user_ids, feats, identity_prefix=identity)


def config_data(wb: WorkbenchData, cfg: ModelConfig, train: sp.csr_matrix, random_state: int) -> InteractionData:
    """The dataset one configuration trains on: ``train`` plus its own feature recipe.

    An ALS ``user_feature_weight`` with no user features in the data is refused: the
    model would train exactly as without it and the manifest would claim otherwise.
    """
    require_item_texts(cfg, wb)
    if cfg.algorithm == "als" and cfg.params.get("user_feature_weight", 0) > 0 and not wb.user_features:
        raise ValueError(f"{cfg.name}: user_feature_weight={cfg.params['user_feature_weight']} needs users' "
                         "features (--user-features FILE), and these data have none")
    ifm, inames = item_feature_matrix(wb, cfg, train, random_state)
    ufm, unames = user_feature_matrix(wb, cfg)
    d = wb.data
    return InteractionData(
        user_ids=d.user_ids, item_ids=d.item_ids, interactions=train.tocsr(),
        user_features=ufm, user_feature_names=unames, item_features=ifm, item_feature_names=inames,
        item_embeddings=d.item_embeddings, cluster_centroids=d.cluster_centroids,
    )
