"""API keys: one per platform integration or editor, stored only as a hash.

A key is shown once, when created. Its tenant and role decide what it may read and change.
An editor or admin key may also hold the reviewer right (approve catalog changes) and be
*global staff* (change the global catalog every tenant is served); without that flag an
editor key changes only its own tenant's private resources.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Engine, select, update

from storage.tables import api_keys_table


class Role(StrEnum):
    PLATFORM = "platform"
    EDITOR = "editor"
    ADMIN = "admin"


def hash_key(secret: str) -> str:
    # Keys are 256-bit random tokens, so a fast hash is enough: no dictionary to attack.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    tenant: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None = None
    reviewer: bool = False
    global_staff: bool = False
    # the staff account the key acts as; an editor key bound to none may only read
    staff: str | None = None


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self, tenant: str, role: Role, reviewer: bool = False, global_staff: bool = False,
        staff: str | None = None,
    ) -> tuple[ApiKey, str]:
        """Returns the stored key and its secret; the secret is not kept. ``staff`` binds
        the key to a staff account, whose name and rights the catalog then sees."""
        if (reviewer or global_staff or staff) and role == Role.PLATFORM:
            raise ValueError("only editor or admin keys can be reviewers, global staff or bound to staff")
        key_id = secrets.token_hex(4)
        secret = f"sol_{key_id}_{secrets.token_urlsafe(32)}"
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                api_keys_table.insert().values(
                    key_id=key_id, key_hash=hash_key(secret), tenant=tenant, role=role.value,
                    reviewer=reviewer, global_staff=global_staff, created_at=now, staff=staff,
                )
            )
        return ApiKey(key_id, tenant, role, now, reviewer=reviewer, global_staff=global_staff, staff=staff), secret

    def authenticate(self, secret: str) -> ApiKey | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(api_keys_table).where(api_keys_table.c.key_hash == hash_key(secret))
            ).first()
        if row is None or row.revoked_at is not None:
            return None
        return ApiKey(row.key_id, row.tenant, Role(row.role), row.created_at,
                      reviewer=bool(row.reviewer), global_staff=bool(row.global_staff), staff=row.staff)

    def list(self, tenant: str | None = None) -> list[ApiKey]:
        query = select(api_keys_table).order_by(api_keys_table.c.created_at)
        if tenant is not None:
            query = query.where(api_keys_table.c.tenant == tenant)
        with self.engine.connect() as conn:
            return [
                ApiKey(r.key_id, r.tenant, Role(r.role), r.created_at, r.revoked_at,
                       bool(r.reviewer), bool(r.global_staff), r.staff)
                for r in conn.execute(query)
            ]

    def revoke(self, tenant: str, key_id: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(api_keys_table)
                .where(
                    api_keys_table.c.key_id == key_id,
                    api_keys_table.c.tenant == tenant,
                    api_keys_table.c.revoked_at.is_(None),
                )
                .values(revoked_at=datetime.now(UTC))
            )
        return bool(result.rowcount)
