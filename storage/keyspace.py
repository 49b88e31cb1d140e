"""Every Redis key Solace writes, in one place.

Keys are prefixed (so several deployments or test runs can share one server) and, for
anything about users, namespaced by tenant, so one platform's keys can never be addressed
with another's ids. Erasure deletes exactly :meth:`Keyspace.user_keys` and the user's field
of each version's vector bucket (:meth:`Keyspace.user_vector`); no pattern ever contains a
user id, and nothing Solace runs depends on SCAN (on a Redis Cluster it sees one node).

Hash tags (the part in ``{...}``: Redis Cluster places a key by it alone) put together what
one operation touches together:

* a user's keys and the buckets holding their vectors share the user's bucket tag
  (:meth:`Keyspace.user_bucket`, 16,384 per deployment, spread over every slot), so one
  request reads a user's state and vector from one slot, and one tenant's users are spread
  over the whole cluster rather than held in one slot;
* a model version's keys share the version's tag, so its snapshot is written and read in
  one slot;
* the catalog's keys share the deployment's tag, so its swap is one transaction.

The active pointer is one key: switching it is one ``SET``.
"""

from __future__ import annotations

import binascii
import functools
import itertools
from dataclasses import dataclass

from core.ids import user_key

# Buckets of users per deployment: one per Redis Cluster slot, each tagged so that it lands
# in its own slot, and a user's bucket is the slot their ``tenant:user`` id hashes to. A
# tenant's users are thus spread as finely as a cluster can place keys at all, and a
# retired version's vectors are this many keys, deleted by name.
USER_BUCKETS = 16_384
_TAG_ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyz"


def cluster_slot(data: bytes) -> int:
    """Redis Cluster's slot of a key without a hash tag (CRC16-XMODEM modulo 16384)."""
    return binascii.crc_hqx(data, 0) % USER_BUCKETS


@functools.cache
def slot_tags() -> tuple[str, ...]:
    """For each slot, the first tag (digits and lowercase letters, shortest first) that
    Redis Cluster places in it: 1 to 4 characters, built once per process (about 0.1 s)."""
    tags: list[str | None] = [None] * USER_BUCKETS
    left = USER_BUCKETS
    for length in range(1, 6):
        for chars in itertools.product(_TAG_ALPHABET, repeat=length):
            candidate = bytes(chars)
            slot = cluster_slot(candidate)
            if tags[slot] is None:
                tags[slot] = candidate.decode()
                left -= 1
                if not left:
                    return tuple(t for t in tags if t is not None)
    raise AssertionError("some cluster slot has no tag")  # never: 5 characters reach every slot

# Written last by a restore: a Redis without it holds no (or not this layout's) state and is
# rebuilt from SQL. The name changes with the layout, so a Redis written by a release
# with another layout is rebuilt rather than read under the wrong names.
LAYOUT = "2"


@dataclass(frozen=True)
class Keyspace:
    prefix: str

    def __post_init__(self) -> None:
        if "{" in self.prefix or "}" in self.prefix:
            # Redis Cluster would take the prefix's braces for the hash tag of every key
            raise ValueError("the Redis key prefix must not contain '{' or '}'")

    # --- models (global: the catalog is shared by tenants) ---
    @property
    def active_model(self) -> str:
        return f"{self.prefix}:model:active"

    @property
    def published_versions(self) -> str:
        """Every version whose keys are in Redis: version -> created_at (a hash; what
        publish retires old versions from, never a SCAN)."""
        return f"{self.prefix}:model:published"

    @property
    def retired_versions(self) -> str:
        """Versions retired from Redis: version -> when. Erasure still clears a user's field
        in their buckets (a worker that held a retired version could fold a user into it
        after the retirement deleted its buckets)."""
        return f"{self.prefix}:model:retired"

    def _version(self, version: str) -> str:
        return f"{self.prefix}:model:{{{version}}}"

    def model_meta(self, version: str) -> str:
        return f"{self._version(version)}:meta"

    def model_items(self, version: str) -> str:
        return f"{self._version(version)}:item_matrix"

    def model_features(self, version: str) -> str:
        return f"{self._version(version)}:user_features"

    def model_item_features(self, version: str) -> str:
        return f"{self._version(version)}:item_features"

    def model_centroids(self, version: str) -> str:
        return f"{self._version(version)}:centroids"

    def model_embeddings(self, version: str) -> str:
        return f"{self._version(version)}:item_embeddings"

    def model_keys(self, version: str) -> list[str]:
        return [self.model_meta(version), self.model_items(version), self.model_embeddings(version),
                self.model_features(version), self.model_item_features(version),
                self.model_centroids(version)]

    def rate_window(self, who: str, amount: int, seconds: int, start: int) -> str:
        """Requests of one API key (hashed) in one fixed window of one limit (the
        recommendation routes count here, in their state pipeline; flask-limiter keeps its
        own keys under ``<prefix>:rl`` for the other routes). The limit is part of the
        name, as in flask-limiter's keys, so a changed limit counts afresh."""
        return f"{self.prefix}:rl:pipe:{who}:{amount}/{seconds}:{start}"

    # --- whether this Redis holds Solace's state (absent: emptied or new, rebuild from SQL) ---
    @property
    def restored(self) -> str:
        return f"{self.prefix}:state:restored:layout{LAYOUT}"

    @property
    def restore_lock(self) -> str:
        return f"{self.prefix}:state:restoring"

    # --- catalog snapshot for serving (one tag: swapped in one transaction) ---
    def _catalog(self) -> str:
        return f"{self.prefix}:catalog:{{{self.prefix}}}"

    @property
    def catalog_version(self) -> str:
        return f"{self._catalog()}:version"

    @property
    def catalog_items(self) -> str:
        return f"{self._catalog()}:items"

    @property
    def catalog_embeddings(self) -> str:
        return f"{self._catalog()}:embeddings"

    # --- per tenant ---
    def tenant_policy(self, tenant: str) -> str:
        return f"{self.prefix}:t:{tenant}:policy"

    def tenant_experiment(self, tenant: str) -> str:
        """The tenant's running experiment (arms, versions, shares) as JSON."""
        return f"{self.prefix}:t:{tenant}:experiment"

    @property
    def pinned_versions(self) -> str:
        """Model versions a running experiment serves: kept when newer versions are published."""
        return f"{self.prefix}:experiments:pinned_versions"

    # --- per user ---
    @staticmethod
    def user_bucket(tenant: str, user: str) -> int:
        """The user's bucket, 0 to USER_BUCKETS - 1: the cluster slot of ``tenant:user``."""
        return cluster_slot(user_key(tenant, user).encode())

    def _user(self, tenant: str, user: str) -> str:
        # the tag first, the exact id after it: an id holding braces cannot move the tag
        return f"{self.prefix}:t:{tenant}:u:{{{slot_tags()[self.user_bucket(tenant, user)]}}}:{user}"

    def vector_bucket(self, version: str, bucket: int) -> str:
        """One of a version's USER_BUCKETS hashes of user vectors (field ``tenant:user``); the
        tag comes before the version, so no version name can move it."""
        return f"{self.prefix}:uv:{{{slot_tags()[bucket]}}}:{version}"

    def vector_buckets(self, version: str) -> list[str]:
        """Every bucket a version's user vectors can be in (what retiring it deletes)."""
        return [self.vector_bucket(version, b) for b in range(USER_BUCKETS)]

    def user_vector(self, tenant: str, version: str, user: str) -> tuple[str, str]:
        """Where the user's vector of ``version`` is: the hash (in the user's slot) and the
        field, ``tenant:user`` (tenants hold no ':', so the field names one user of one tenant)."""
        return self.vector_bucket(version, self.user_bucket(tenant, user)), user_key(tenant, user)

    def user_completed(self, tenant: str, user: str) -> str:
        return f"{self._user(tenant, user)}:completed"

    def user_dismissed(self, tenant: str, user: str) -> str:
        return f"{self._user(tenant, user)}:dismissed"

    def user_interactions(self, tenant: str, user: str) -> str:
        return f"{self._user(tenant, user)}:interactions"

    def user_profile(self, tenant: str, user: str) -> str:
        return f"{self._user(tenant, user)}:profile"

    def user_risk(self, tenant: str, user: str) -> str:
        return f"{self._user(tenant, user)}:risk"

    def user_cached_lists(self, tenant: str, user: str) -> str:
        return f"{self._user(tenant, user)}:lists"

    def user_keys(self, tenant: str, user: str) -> list[str]:
        return [
            self.user_completed(tenant, user),
            self.user_dismissed(tenant, user),
            self.user_interactions(tenant, user),
            self.user_profile(tenant, user),
            self.user_risk(tenant, user),
            self.user_cached_lists(tenant, user),
        ]
