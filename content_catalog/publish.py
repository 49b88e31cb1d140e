"""Pushes the servable catalog to Redis, where every serving worker reads it.

A change reaches serving without retraining: the snapshot holds only approved, non-retired
resources with their text embeddings, and bumping the version makes workers reload at
their next request. A resource the active model has never seen gets its vector from its
features there (see ``serving.model_cache``). A tenant-private resource's card carries its
``owner_tenant``, so serving shows it to that tenant's users only
(``recommender.catalog_view``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import redis

from content_catalog.flags import FlagStore
from content_catalog.schema import Resource
from content_catalog.store import CatalogStore
from storage.keyspace import Keyspace

if TYPE_CHECKING:
    from core.encoder import EncoderLike

# Serving needs the card, not the texts or the workflow state (every worker holds them all).
_CARD_EXCLUDE = {"body", "steps", "summary", "status", "reviewed_by", "reviewed_at", "reading_level"}
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


def resource_card(resource: Resource, owner_tenant: str | None = None) -> dict[str, Any]:
    card = resource.model_dump(mode="json", exclude_none=True, exclude=_CARD_EXCLUDE)
    if owner_tenant is not None:
        card["owner_tenant"] = owner_tenant
    return card


def serving_card(resource: Resource, owner: str | None, flagged: set[str]) -> dict[str, Any]:
    """The card serving holds; ``flagged`` when outcomes sent it back to review (a crisis
    line is never marked: it is never paused)."""
    card = resource_card(resource, owner)
    if resource.id in flagged and not resource.is_crisis_resource:
        card["flagged"] = True
    return card


def serving_cards(store: CatalogStore) -> dict[str, dict[str, Any]]:
    """Every servable resource's card, as publish_catalog writes them (for a worker that
    must start from SQL while Redis is away)."""
    flagged = FlagStore(store.engine).open_ids()
    return {r.id: serving_card(r, owner, flagged) for r, owner in store.servable_with_owners()}


def publish_catalog(
    store: CatalogStore, client: redis.Redis, keys: Keyspace,
    encoder: "EncoderLike | None" = None,
) -> int:
    """Replace the serving snapshot atomically; returns the number of servable resources.

    With an encoder, resources whose text has no embedding yet are embedded first.
    """
    from storage.embeddings import EmbeddingStore, embed_texts

    owned = store.servable_with_owners()
    servable = [r for r, _owner in owned]
    flagged = FlagStore(store.engine).open_ids()
    embeddings = EmbeddingStore(store.engine)
    model_name = encoder.name if encoder is not None else DEFAULT_EMBEDDING_MODEL
    if encoder is not None:
        embed_texts({r.id: r.text_for_embedding() for r in servable}, embeddings, encoder)
    vectors = embeddings.vectors(model_name, [r.id for r in servable])
    cards = {r.id: json.dumps(serving_card(r, owner, flagged)) for r, owner in owned}
    staging_items = keys.catalog_items + ":staging"
    staging_emb = keys.catalog_embeddings + ":staging"
    pipe = client.pipeline(transaction=True)
    pipe.delete(staging_items, staging_emb)
    if cards:
        pipe.hset(staging_items, mapping=cards)  # type: ignore[arg-type]  # redis-py's Mapping keys are invariant: str is a field
        # RENAME by name: redis-py's cluster pipeline refuses its rename() (two keys could be
        # in two slots); these share the catalog's tag, so the transaction is one slot's
        pipe.execute_command("RENAME", staging_items, keys.catalog_items)
    else:
        pipe.delete(keys.catalog_items)
    if vectors:
        pipe.hset(staging_emb, mapping={i: np.asarray(v, np.float32).tobytes() for i, v in vectors.items()})
        pipe.execute_command("RENAME", staging_emb, keys.catalog_embeddings)
    else:
        pipe.delete(keys.catalog_embeddings)
    pipe.incr(keys.catalog_version)
    pipe.execute()
    return len(cards)


# What a platform needs to show a resource in its own UI: everything the reader sees, none
# of the review workflow.
RENDER_EXCLUDE = {"status", "reviewed_by", "reviewed_at", "tags"}


def renderable(resource: Resource) -> dict[str, object]:
    """The approved resource as a platform renders it (body is plain text; steps a list)."""
    return resource.model_dump(mode="json", exclude_none=True, exclude=RENDER_EXCLUDE)
