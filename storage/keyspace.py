"""Every Redis key Solace writes, in one place.

Keys are prefixed (so several deployments or test runs can share one server) and, for
anything about users, namespaced by tenant, so one platform's keys can never be addressed
with another's ids. Erasure deletes exactly :meth:`Keyspace.user_keys` and the user's field
of the per-version hashes; no pattern ever contains a user id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def glob_escape(value: str) -> str:
    """A literal for Redis MATCH patterns (prefix and tenant; never a user id: a pattern
    ``...:u:<id>:*`` also matches every id that starts with ``<id>:``, so user keys are only
    ever addressed by their exact names, :meth:`Keyspace.user_keys`)."""
    return _GLOB_SPECIAL.sub(r"\\\1", value)


@dataclass(frozen=True)
class Keyspace:
    prefix: str

    # --- models (global: the catalog is shared by tenants) ---
    @property
    def active_model(self) -> str:
        return f"{self.prefix}:model:active"

    def model_meta(self, version: str) -> str:
        return f"{self.prefix}:model:{version}:meta"

    def model_items(self, version: str) -> str:
        return f"{self.prefix}:model:{version}:item_matrix"

    def model_features(self, version: str) -> str:
        return f"{self.prefix}:model:{version}:user_features"

    def model_item_features(self, version: str) -> str:
        return f"{self.prefix}:model:{version}:item_features"

    def model_centroids(self, version: str) -> str:
        return f"{self.prefix}:model:{version}:centroids"

    def model_keys(self, version: str) -> list[str]:
        return [self.model_meta(version), self.model_items(version), self.model_embeddings(version),
                self.model_features(version), self.model_item_features(version),
                self.model_centroids(version)]

    @property
    def catalog_embeddings(self) -> str:
        return f"{self.prefix}:catalog:embeddings"

    def model_embeddings(self, version: str) -> str:
        return f"{self.prefix}:model:{version}:item_embeddings"

    @property
    def models_pattern(self) -> str:
        return f"{self.prefix}:model:*"

    # --- whether this Redis holds Solace's state (absent: emptied or new, rebuild from SQL) ---
    @property
    def restored(self) -> str:
        return f"{self.prefix}:state:restored"

    @property
    def restore_lock(self) -> str:
        return f"{self.prefix}:state:restoring"

    # --- catalog snapshot for serving ---
    @property
    def catalog_version(self) -> str:
        return f"{self.prefix}:catalog:version"

    @property
    def catalog_items(self) -> str:
        return f"{self.prefix}:catalog:items"

    # --- per tenant and user ---
    def tenant_policy(self, tenant: str) -> str:
        return f"{self.prefix}:t:{tenant}:policy"

    def tenant_experiment(self, tenant: str) -> str:
        """The tenant's running experiment (arms, versions, shares) as JSON."""
        return f"{self.prefix}:t:{tenant}:experiment"

    @property
    def pinned_versions(self) -> str:
        """Model versions a running experiment serves: kept when newer versions are published."""
        return f"{self.prefix}:experiments:pinned_versions"

    def user_vectors(self, tenant: str, version: str) -> str:
        return f"{self.prefix}:t:{tenant}:uv:{version}"

    def user_vectors_pattern(self, tenant: str) -> str:
        return f"{glob_escape(self.prefix)}:t:{glob_escape(tenant)}:uv:*"

    def user_completed(self, tenant: str, user: str) -> str:
        return f"{self.prefix}:t:{tenant}:u:{user}:completed"

    def user_dismissed(self, tenant: str, user: str) -> str:
        return f"{self.prefix}:t:{tenant}:u:{user}:dismissed"

    def user_interactions(self, tenant: str, user: str) -> str:
        return f"{self.prefix}:t:{tenant}:u:{user}:interactions"

    def user_profile(self, tenant: str, user: str) -> str:
        return f"{self.prefix}:t:{tenant}:u:{user}:profile"

    def user_risk(self, tenant: str, user: str) -> str:
        return f"{self.prefix}:t:{tenant}:u:{user}:risk"

    def user_cached_lists(self, tenant: str, user: str) -> str:
        return f"{self.prefix}:t:{tenant}:u:{user}:lists"

    def user_keys(self, tenant: str, user: str) -> list[str]:
        return [
            self.user_completed(tenant, user),
            self.user_dismissed(tenant, user),
            self.user_interactions(tenant, user),
            self.user_profile(tenant, user),
            self.user_risk(tenant, user),
            self.user_cached_lists(tenant, user),
        ]
