"""Pushes the servable catalog to Redis, where every serving worker reads it.

A change reaches serving without retraining: the snapshot holds only approved, non-retired
resources, and bumping the version makes workers reload at their next request.
"""

from __future__ import annotations

import json

import redis

from content_catalog.schema import Resource
from content_catalog.store import CatalogStore
from solace.keyspace import Keyspace

# Long texts stay in SQL: serving needs the card, not the body.
_CARD_EXCLUDE = {"body", "steps"}


def resource_card(resource: Resource) -> dict[str, object]:
    return resource.model_dump(mode="json", exclude_none=True, exclude=_CARD_EXCLUDE)


def publish_catalog(store: CatalogStore, client: redis.Redis, keys: Keyspace) -> int:
    """Replace the serving snapshot atomically; returns the number of servable resources."""
    cards = {r.id: json.dumps(resource_card(r)) for r in store.servable()}
    staging = keys.catalog_items + ":staging"
    pipe = client.pipeline(transaction=True)
    pipe.delete(staging)
    if cards:
        pipe.hset(staging, mapping=cards)
        pipe.rename(staging, keys.catalog_items)
    else:
        pipe.delete(keys.catalog_items)
    pipe.incr(keys.catalog_version)
    pipe.execute()
    return len(cards)
