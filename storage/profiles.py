"""The stored user profiles (the record is ``core.users.UserProfile``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete, select

from core.users import UserProfile
from storage.tables import profiles_table


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
