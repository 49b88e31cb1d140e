"""Wiring for the offline jobs: the stores and clients of one configuration, built once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import redis
from sqlalchemy import Engine

from content_catalog.store import CatalogStore
from solace.config import Settings
from solace.db import get_engine
from solace.events import EventStore
from solace.keys import KeyStore
from solace.keyspace import Keyspace
from solace.redis_conn import connect_redis
from solace.users import ProfileStore
from training.embed import EmbeddingStore
from training.registry import ModelRegistry


@dataclass
class Services:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        self.settings.ensure_home()
        return get_engine(self.settings.sql_url)

    @cached_property
    def redis(self) -> redis.Redis:
        return connect_redis(self.settings)

    @cached_property
    def keys(self) -> Keyspace:
        return Keyspace(self.settings.redis_prefix)

    @cached_property
    def catalog(self) -> CatalogStore:
        return CatalogStore(self.engine)

    @cached_property
    def events(self) -> EventStore:
        return EventStore(self.engine)

    @cached_property
    def profiles(self) -> ProfileStore:
        return ProfileStore(self.engine)

    @cached_property
    def api_keys(self) -> KeyStore:
        return KeyStore(self.engine)

    @cached_property
    def embeddings(self) -> EmbeddingStore:
        return EmbeddingStore(self.engine)

    @cached_property
    def registry(self) -> ModelRegistry:
        self.settings.ensure_home()
        return ModelRegistry(self.settings.models_dir)
