"""Side features of items and users, as named tokens for the hybrid model.

Items: topics, type, format, audience, tags and the cluster of their text embedding
(the embedding's cluster lets a new item borrow what similar texts learned). Users: the
onboarding features the platform sent (e.g. ``topic:sleep``) and the age band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from content_catalog.schema import Resource
from solace.users import UserProfile
from training.dataset import FeatureList


def embedding_clusters(
    embeddings: np.ndarray, n_clusters: int, random_state: int = 42
) -> np.ndarray:
    """k-means cluster of each row (unit vectors, so Euclidean k-means is cosine-like)."""
    from sklearn.cluster import KMeans

    n_clusters = max(1, min(n_clusters, len(embeddings)))
    km = KMeans(n_clusters=n_clusters, n_init=4, random_state=random_state)
    return km.fit_predict(embeddings)


def item_feature_lists(
    resources: Sequence[Resource], clusters: np.ndarray | None = None, tag_weight: float = 0.5
) -> dict[str, FeatureList]:
    out: dict[str, FeatureList] = {}
    for n, r in enumerate(resources):
        feats: list[tuple[str, float]] = [(f"topic:{t}", 1.0) for t in r.topics]
        feats.append((f"type:{r.type}", 1.0))
        feats.append((f"format:{r.format}", 0.5))
        feats.append((f"audience:{r.audience}", 0.5))
        feats.extend((f"tag:{t}", tag_weight) for t in r.tags)
        if r.is_crisis_resource:
            feats.append(("crisis", 1.0))
        if clusters is not None:
            feats.append((f"cluster:{int(clusters[n])}", 1.0))
        out[r.id] = feats
    return out


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
