"""User profiles: only what the platform chose to share for personalisation.

A profile holds onboarding feature tokens (e.g. concern topics), a locale, an age band and
topic opt-outs. No names, contact details or free text: the user id is the platform's
opaque pseudonym.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import JSON, Column, DateTime, Engine, String, Table, delete, select

from solace.db import metadata

AGE_BANDS = ("13-15", "16-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
MINOR_AGE_BANDS = frozenset({"13-15", "16-17"})

profiles_table = Table(
    "user_profiles",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("user_id", String(128), primary_key=True),
    Column("features", JSON, nullable=False),
    Column("locale", String(35), nullable=True),
    Column("age_band", String(8), nullable=True),
    Column("opt_outs", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


@dataclass
class UserProfile:
    features: list[str] = field(default_factory=list)
    locale: str | None = None
    age_band: str | None = None
    opt_outs: list[str] = field(default_factory=list)

    @property
    def is_minor(self) -> bool:
        return self.age_band in MINOR_AGE_BANDS

    def to_json(self) -> dict[str, object]:
        return {
            "features": self.features, "locale": self.locale,
            "age_band": self.age_band, "opt_outs": self.opt_outs,
        }


class ProfileStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, tenant: str, user_id: str, profile: UserProfile) -> None:
        values = dict(profile.to_json(), updated_at=datetime.now(UTC))
        with self.engine.begin() as conn:
            conn.execute(
                delete(profiles_table).where(
                    profiles_table.c.tenant == tenant, profiles_table.c.user_id == user_id
                )
            )
            conn.execute(profiles_table.insert().values(tenant=tenant, user_id=user_id, **values))

    def put_many(self, tenant: str, profiles: dict[str, UserProfile]) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                delete(profiles_table).where(
                    profiles_table.c.tenant == tenant,
                    profiles_table.c.user_id.in_(list(profiles)),
                )
            )
            if profiles:
                conn.execute(
                    profiles_table.insert(),
                    [
                        dict(p.to_json(), tenant=tenant, user_id=u, updated_at=now)
                        for u, p in profiles.items()
                    ],
                )

    def get(self, tenant: str, user_id: str) -> UserProfile | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(profiles_table).where(
                    profiles_table.c.tenant == tenant, profiles_table.c.user_id == user_id
                )
            ).first()
        if row is None:
            return None
        return UserProfile(list(row.features), row.locale, row.age_band, list(row.opt_outs))

    def all(self, tenant: str | None = None) -> dict[tuple[str, str], UserProfile]:
        query = select(profiles_table)
        if tenant is not None:
            query = query.where(profiles_table.c.tenant == tenant)
        with self.engine.connect() as conn:
            return {
                (r.tenant, r.user_id): UserProfile(
                    list(r.features), r.locale, r.age_band, list(r.opt_outs)
                )
                for r in conn.execute(query)
            }

    def erase(self, tenant: str, user_id: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(profiles_table).where(
                    profiles_table.c.tenant == tenant, profiles_table.c.user_id == user_id
                )
            )
        return int(result.rowcount or 0)
