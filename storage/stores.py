"""The stores and clients of one configuration, each built once, on first use."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import redis
from sqlalchemy import Engine

from core.config import Settings
from storage.api_keys import KeyStore
from storage.db import get_engine
from storage.embeddings import EmbeddingStore
from storage.events import EventStore
from storage.keyspace import Keyspace
from storage.profiles import ProfileStore
from storage.redis_conn import connect_redis
from storage.registry import ModelRegistry


@dataclass
class Stores:
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
