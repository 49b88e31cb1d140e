"""Side features of items and users, as named tokens for the hybrid model.

Items: topics, type, format, audience, tags and the cluster of their text embedding
(the embedding's cluster lets a new item borrow what similar texts learned). Users: the
onboarding features the platform sent (e.g. ``topic:sleep``) and the age band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from content_catalog.schema import Resource
from core.users import UserProfile

# An entity's features: (token, weight) pairs.
FeatureList = Sequence[tuple[str, float]]


def embedding_clusters(
    embeddings: np.ndarray, n_clusters: int, random_state: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """k-means cluster of each row and the centroids (kept so a new item can be placed)."""
    from sklearn.cluster import KMeans

    n_clusters = max(1, min(n_clusters, len(embeddings)))
    km = KMeans(n_clusters=n_clusters, n_init=4, random_state=random_state)
    labels = km.fit_predict(embeddings)
    return labels, km.cluster_centers_.astype(np.float32)


def nearest_cluster(embedding: np.ndarray, centroids: np.ndarray) -> int:
    return int(np.argmin(((centroids - embedding) ** 2).sum(axis=1)))


def card_features(
    card: Mapping[str, Any], cluster: int | None = None, tag_weight: float = 0.5
) -> FeatureList:
    """Feature tokens of one resource (a full record or a serving card)."""
    feats: list[tuple[str, float]] = [(f"topic:{t}", 1.0) for t in card.get("topics", [])]
    feats.append((f"type:{card['type']}", 1.0))
    feats.append((f"format:{card.get('format', 'text')}", 0.5))
    feats.append((f"audience:{card.get('audience', 'all')}", 0.5))
    feats.extend((f"tag:{t}", tag_weight) for t in card.get("tags", []))
    if card.get("is_crisis_resource"):
        feats.append(("crisis", 1.0))
    if cluster is not None:
        feats.append((f"cluster:{cluster}", 1.0))
    return feats


def item_feature_lists(
    resources: Sequence[Resource], clusters: np.ndarray | None = None, tag_weight: float = 0.5
) -> dict[str, FeatureList]:
    return {
        r.id: card_features(
            r.model_dump(mode="json"), None if clusters is None else int(clusters[n]), tag_weight
        )
        for n, r in enumerate(resources)
    }


def vector_from_features(
    features: FeatureList, feature_index: Mapping[str, int], feature_vectors: np.ndarray
) -> np.ndarray | None:
    """A new entity's vector: the normalised weighted sum of its known features' vectors,
    exactly how the hybrid model represents an entity without its identity feature."""
    rows = [(feature_index[name], w) for name, w in features if name in feature_index]
    total = sum(w for _, w in rows)
    if not rows or total <= 0:
        return None
    vec = np.zeros(feature_vectors.shape[1], dtype=np.float32)
    for r, w in rows:
        vec += (w / total) * feature_vectors[r]
    return vec


def user_feature_lists(profiles: Mapping[str, UserProfile]) -> dict[str, FeatureList]:
    out: dict[str, FeatureList] = {}
    for user, profile in profiles.items():
        feats: list[tuple[str, float]] = [(f"feature:{f}", 1.0) for f in profile.features]
        if profile.age_band:
            feats.append((f"age:{profile.age_band}", 0.5))
        out[user] = feats
    return out


def profile_feature_tokens(profile: UserProfile) -> FeatureList:
    """The same tokens for one profile, used by serving to build a cold user's vector."""
    return user_feature_lists({"_": profile})["_"]
