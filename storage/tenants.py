"""Per-tenant safety settings. A platform may make the policy stricter, never looser:
the effective value is always the stricter of the tenant's and the deployment's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import redis
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, delete, select

from core.taxonomy import Topic
from storage.keyspace import Keyspace
from storage.tables import tenant_policies_table


class TenantPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    max_topic_share: float | None = Field(default=None, gt=0, le=1)
    max_heavy_share: float | None = Field(default=None, ge=0, le=1)
    excluded_topics: list[Topic] = Field(default_factory=list, description="Never served to this tenant's users.")
    treat_all_as_minors: bool = Field(default=False, description="Apply the under-18 rules to every user.")
    mood_checkins: bool = Field(default=False, description=(
        "Accept mood check-ins (mood_before and mood_after events, a score from 1 to 5) from this tenant's "
        "users; off by default."))
    pause_flagged: bool = Field(default=False, description=(
        "Stop serving a resource whose outcomes sent it back to clinical review until a reviewer "
        "decides (crisis lines are never paused)."))


class TenantPolicyStore:
    def __init__(self, engine: Engine, client: redis.Redis, keys: Keyspace) -> None:
        self.engine = engine
        self.client = client
        self.keys = keys

    def put(self, tenant: str, policy: TenantPolicy) -> None:
        data = policy.model_dump(mode="json")
        with self.engine.begin() as conn:
            conn.execute(delete(tenant_policies_table).where(tenant_policies_table.c.tenant == tenant))
            conn.execute(tenant_policies_table.insert().values(tenant=tenant, policy=data, updated_at=datetime.now(UTC)))
        self.client.set(self.keys.tenant_policy(tenant), json.dumps(data))

    def get(self, tenant: str) -> TenantPolicy:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(tenant_policies_table.c.policy).where(tenant_policies_table.c.tenant == tenant)
            ).first()
        return TenantPolicy.model_validate(row.policy) if row else TenantPolicy()


def all_policies(engine: Engine) -> dict[str, dict[str, object]]:
    """Every tenant's stored policy, as written to Redis (for rebuilding Redis from SQL)."""
    with engine.connect() as conn:
        rows = conn.execute(select(tenant_policies_table.c.tenant, tenant_policies_table.c.policy)).all()
    return {row.tenant: dict(row.policy) for row in rows}
