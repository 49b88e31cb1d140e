"""Resources whose outcomes sent them back to clinical review.

A flag is opened by the evidence (``analytics.flags``), never by a person: it records the
counts the rule read and why, writes the catalog's audit trail, and stays open until a
reviewer decides: keep (the evidence was looked at and the resource stays) or retire. While
it is open, tenants whose policy says ``pause_flagged`` are not served the resource. A
crisis line is flagged like anything else but never paused: withholding it could leave
someone without help.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, or_, select, text, update

from content_catalog.access import Actor, Forbidden, NotFound, WorkflowError, authorise, check_comment
from content_catalog.store import CATALOG_WRITE_LOCK, CatalogStore
from storage.tables import audit_table, resource_flags_table, resources_table

SYSTEM_ACTOR = "solace:outcomes"
DECISIONS = ("kept", "retired")


@dataclass(frozen=True)
class Flag:
    id: int
    resource_id: str
    opened_at: datetime
    reasons: list[str]
    evidence: dict[str, Any]
    status: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "resource_id": self.resource_id, "opened_at": self.opened_at.isoformat(),
                "reasons": self.reasons, "evidence": self.evidence, "status": self.status,
                "decided_by": self.decided_by,
                "decided_at": self.decided_at.isoformat() if self.decided_at else None, "comment": self.comment}


def _flag(row: Any) -> Flag:
    return Flag(row.id, row.resource_id, row.opened_at, list(row.reasons), dict(row.evidence), row.status,
                row.decided_by, row.decided_at, row.comment)


class FlagStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_ids(self) -> set[str]:
        t = resource_flags_table.c
        with self.engine.connect() as conn:
            return set(conn.execute(select(t.resource_id).where(t.status == "open")).scalars())

    def all(self, status: str | None = None, tenant: str | None = None) -> list[Flag]:
        """Newest first; with ``tenant``, only flags on resources that tenant sees (the
        global catalog and its own; another tenant's resources are not even named)."""
        t = resource_flags_table.c
        query = select(resource_flags_table).order_by(t.opened_at.desc(), t.id.desc())
        if status is not None:
            query = query.where(t.status == status)
        if tenant is not None:
            owners = select(resources_table.c.id).where(or_(resources_table.c.owner_tenant.is_(None),
                                                            resources_table.c.owner_tenant == tenant))
            query = query.where(t.resource_id.in_(owners))
        with self.engine.connect() as conn:
            return [_flag(r) for r in conn.execute(query)]

    def open(self, resource_id: str, reasons: list[str], evidence: dict[str, Any]) -> Flag | None:
        """Open a flag unless one is open already (None then): one flag per review."""
        now = datetime.now(UTC)
        t = resource_flags_table.c
        with self.engine.begin() as conn:
            self._lock(conn)
            if conn.execute(select(resources_table.c.id).where(resources_table.c.id == resource_id)).first() is None:
                return None
            if conn.execute(select(t.id).where(t.resource_id == resource_id, t.status == "open")).first() is not None:
                return None
            new_id = conn.execute(insert(resource_flags_table).values(
                resource_id=resource_id, opened_at=now, reasons=reasons, evidence=evidence, status="open",
            ).returning(t.id)).scalar_one()
            conn.execute(insert(audit_table).values(
                resource_id=resource_id, actor=SYSTEM_ACTOR, action="flagged", at=now,
                changes={"reasons": reasons, "evidence": evidence}, comment=None))
        return Flag(int(new_id), resource_id, now, reasons, evidence, "open")

    def decide(self, resource_id: str, decision: str, actor: Actor, comment: str | None) -> Flag:
        """Close the open flag of ``resource_id`` with a reviewer's decision: ``kept`` (the
        evidence was read; the resource stays) or ``retired`` (retired through the catalog's
        own review action, in the audit trail as any retirement). Only a reviewer who may
        change the resource decides, and says why."""
        if decision not in DECISIONS:
            raise WorkflowError(f"decision: one of {', '.join(DECISIONS)}")
        text_ = (comment or "").strip()
        if len(text_) < 3:
            raise WorkflowError("comment: say what the evidence showed (a decision on a flag needs a comment)")
        comment = check_comment("reject", text_)
        with self.engine.connect() as conn:
            owner_row = conn.execute(select(resources_table.c.owner_tenant).where(
                resources_table.c.id == resource_id)).first()
        if owner_row is None:
            raise NotFound(f"no resource {resource_id!r}")
        authorise(actor, resource_id, owner_row.owner_tenant, "approve")
        if not actor.reviewer:
            raise Forbidden("only a reviewer decides on a flag")
        if not any(f.resource_id == resource_id for f in self.all("open")):
            raise NotFound(f"no open flag on {resource_id!r}")
        if decision == "retired":
            CatalogStore(self.engine).review(resource_id, "retire", actor, comment=comment)
        actor_name = actor.name
        now = datetime.now(UTC)
        t = resource_flags_table.c
        with self.engine.begin() as conn:
            self._lock(conn)
            row = conn.execute(select(resource_flags_table).where(
                t.resource_id == resource_id, t.status == "open")).first()
            if row is None:
                raise NotFound(f"no open flag on {resource_id!r}")
            conn.execute(update(resource_flags_table).where(t.id == row.id).values(
                status=decision, decided_by=actor_name, decided_at=now, comment=comment))
            conn.execute(insert(audit_table).values(
                resource_id=resource_id, actor=actor_name, action=f"flag_{decision}", at=now,
                changes={"flag": row.id}, comment=comment))
            row = conn.execute(select(resource_flags_table).where(t.id == row.id)).one()
        return _flag(row)

    @staticmethod
    def _lock(conn: Any) -> None:
        # audit ids feed the catalog feed's change order: taken under the catalog's write lock
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CATALOG_WRITE_LOCK})
