"""SQL storage of the catalog, with an audit record for every change.

The store keeps each resource's current record and, separately, its last approved record:
serving reads only the approved one, so an edit under review never reaches users before a
reviewer approves it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Table,
    insert,
    select,
    update,
)

from content_catalog.schema import Resource
from content_catalog.taxonomy import ReviewStatus
from solace.db import metadata

resources_table = Table(
    "resources",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("type", String(16), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("data", JSON, nullable=False),
    Column("approved_data", JSON(none_as_null=True), nullable=True),
    Column("content_hash", String(64), nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

audit_table = Table(
    "resource_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resource_id", String(80), ForeignKey("resources.id"), nullable=False, index=True),
    Column("actor", String(80), nullable=False),
    Column("action", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("changes", JSON, nullable=False),
)

# Fields whose change is a clinical change: an approved resource goes back to review.
CLINICAL_FIELDS = frozenset({"body", "steps", "topics", "content_warnings", "audience", "contact"})
_WORKFLOW_FIELDS = frozenset({"status", "reviewed_by", "reviewed_at"})


def _dump(resource: Resource) -> dict[str, Any]:
    return resource.model_dump(mode="json", exclude_none=True)


def content_hash(data: dict[str, Any]) -> str:
    """Hash of what the resource says (not of its workflow state)."""
    payload = {k: v for k, v in data.items() if k not in _WORKFLOW_FIELDS}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = set(old) | set(new)
    return {
        k: {"old": old.get(k), "new": new.get(k)} for k in sorted(keys) if old.get(k) != new.get(k)
    }


class CatalogError(Exception):
    """A workflow rule was broken; the message says which, for the editor to read."""


class NotFound(CatalogError):
    pass


class StaleVersion(CatalogError):
    """Someone changed the resource since the editor read it (optimistic concurrency)."""


class WorkflowError(CatalogError):
    pass


REVIEW_ACTIONS = ("submit", "approve", "reject", "retire")


@dataclass(frozen=True)
class StoredResource:
    resource: Resource
    version: int
    approved: Resource | None
    updated_at: datetime


class CatalogStore:
    """Reads and writes resources; every write is audited in the same transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _row_to_stored(self, row: Any) -> StoredResource:
        approved = Resource.model_validate(row.approved_data) if row.approved_data else None
        return StoredResource(
            resource=Resource.model_validate(row.data),
            version=row.version,
            approved=approved,
            updated_at=row.updated_at,
        )

    def get(self, resource_id: str) -> StoredResource | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(resources_table).where(resources_table.c.id == resource_id)
            ).first()
        return self._row_to_stored(row) if row else None

    def iter_all(self) -> Iterator[StoredResource]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(resources_table).order_by(resources_table.c.id)).all()
        for row in rows:
            yield self._row_to_stored(row)

    def servable(self) -> list[Resource]:
        """The last approved version of every resource that is not retired."""
        out: list[Resource] = []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(resources_table.c.approved_data, resources_table.c.status)
                .where(resources_table.c.approved_data.is_not(None))
                .order_by(resources_table.c.id)
            ).all()
        for approved_data, status in rows:
            if status != ReviewStatus.RETIRED:
                out.append(Resource.model_validate(approved_data))
        return out

    def upsert_many(self, resources: Iterable[Resource], actor: str) -> dict[str, int]:
        """Insert or update by id in one transaction; unchanged records are left untouched."""
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for resource in resources:
                counts[self._upsert(conn, resource, actor, now)] += 1
        return counts

    def _upsert(self, conn: Any, resource: Resource, actor: str, now: datetime) -> str:
        data = _dump(resource)
        chash = content_hash(data)
        row = conn.execute(
            select(resources_table).where(resources_table.c.id == resource.id)
        ).first()
        approved = data if resource.status == ReviewStatus.APPROVED else None
        if row is None:
            conn.execute(
                insert(resources_table).values(
                    id=resource.id, type=resource.type, status=resource.status, data=data,
                    approved_data=approved, content_hash=chash, version=1,
                    created_at=now, updated_at=now,
                )
            )
            self._audit(conn, resource.id, actor, "create", _diff({}, data), now)
            return "created"
        if row.data == data:
            return "unchanged"
        values: dict[str, Any] = {
            "type": resource.type, "status": resource.status, "data": data,
            "content_hash": chash, "version": row.version + 1, "updated_at": now,
        }
        if approved is not None:
            values["approved_data"] = approved
        conn.execute(
            update(resources_table).where(resources_table.c.id == resource.id).values(**values)
        )
        self._audit(conn, resource.id, actor, "update", _diff(row.data, data), now)
        return "updated"

    def _audit(
        self, conn: Any, resource_id: str, actor: str, action: str,
        changes: dict[str, Any], now: datetime,
    ) -> None:
        conn.execute(
            insert(audit_table).values(
                resource_id=resource_id, actor=actor, action=action, at=now, changes=changes
            )
        )

    # ------------------------------------------------------------------ editor workflow
    def _locked_row(self, conn: Any, resource_id: str, expected_version: int | None) -> Any:
        """The row, locked for this transaction, after the optimistic-concurrency check."""
        query = select(resources_table).where(resources_table.c.id == resource_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no resource {resource_id!r}")
        if expected_version is not None and row.version != expected_version:
            raise StaleVersion(
                f"{resource_id} is at version {row.version}, not {expected_version}: reload and retry"
            )
        return row

    def _write(
        self, conn: Any, row: Any, data: dict[str, Any], actor: str, action: str,
        now: datetime, approved: dict[str, Any] | None | bool = False,
    ) -> StoredResource:
        values: dict[str, Any] = {
            "status": data["status"], "type": data["type"], "data": data,
            "content_hash": content_hash(data), "version": row.version + 1, "updated_at": now,
        }
        if approved is not False:
            values["approved_data"] = approved
        conn.execute(update(resources_table).where(resources_table.c.id == row.id).values(**values))
        self._audit(conn, row.id, actor, action, _diff(row.data, data), now)
        new_approved = values.get("approved_data", row.approved_data)
        return StoredResource(
            Resource.model_validate(data), row.version + 1,
            Resource.model_validate(new_approved) if new_approved else None, now,
        )

    def create(self, resource: Resource, actor: str) -> StoredResource:
        """A new resource always starts as a draft, whatever the record says."""
        data = _dump(resource)
        data.update(status=ReviewStatus.DRAFT.value)
        data.pop("reviewed_by", None)
        data.pop("reviewed_at", None)
        draft = Resource.model_validate(data)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(resources_table.c.id).where(resources_table.c.id == draft.id)
            ).first()
            if exists:
                raise WorkflowError(f"a resource with id {draft.id!r} already exists")
            self._upsert(conn, draft, actor, now)
        stored = self.get(draft.id)
        assert stored is not None
        return stored

    def edit(
        self, resource_id: str, changes: dict[str, Any], actor: str,
        expected_version: int | None = None,
    ) -> StoredResource:
        """Apply a partial change. A clinical change to an approved resource sends it back
        to review; its last approved version keeps being served meanwhile."""
        forbidden = {"id", "status", "reviewed_by", "reviewed_at"} & set(changes)
        if forbidden:
            raise WorkflowError(
                f"{sorted(forbidden)[0]} cannot be edited; use the review workflow"
            )
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            row = self._locked_row(conn, resource_id, expected_version)
            if row.status == ReviewStatus.RETIRED:
                raise WorkflowError(f"{resource_id} is retired; it cannot be edited")
            merged = {**row.data, **changes}
            merged = {k: v for k, v in merged.items() if v is not None}
            resource = Resource.model_validate(merged)  # raises ValidationError naming the field
            data = _dump(resource)
            if data == row.data:
                return self._row_to_stored(row)
            clinical = any(row.data.get(f) != data.get(f) for f in CLINICAL_FIELDS)
            approved: dict[str, Any] | None | bool = False
            if row.status == ReviewStatus.APPROVED:
                if clinical:
                    data["status"] = ReviewStatus.IN_REVIEW.value
                else:
                    approved = data  # presentational edits of approved content go live
            return self._write(conn, row, data, actor, "edit", now, approved)

    def review(
        self, resource_id: str, action: str, actor: str, can_approve: bool = False,
        expected_version: int | None = None,
    ) -> StoredResource:
        """``submit`` (draft -> in_review), ``approve`` (in_review -> approved, reviewers
        only), ``reject`` (in_review -> draft), ``retire`` (any -> retired)."""
        if action not in REVIEW_ACTIONS:
            raise WorkflowError(f"unknown review action {action!r}; use {', '.join(REVIEW_ACTIONS)}")
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            row = self._locked_row(conn, resource_id, expected_version)
            status = row.status
            data = dict(row.data)
            approved: dict[str, Any] | None | bool = False
            if action == "submit":
                if status != ReviewStatus.DRAFT:
                    raise WorkflowError(f"only a draft can be submitted; {resource_id} is {status}")
                data["status"] = ReviewStatus.IN_REVIEW.value
            elif action == "approve":
                if not can_approve:
                    raise PermissionError("approving needs the reviewer right")
                if status != ReviewStatus.IN_REVIEW:
                    raise WorkflowError(f"only a resource in review can be approved; {resource_id} is {status}")
                data.update(status=ReviewStatus.APPROVED.value, reviewed_by=actor,
                            reviewed_at=now.isoformat().replace("+00:00", "Z"))
                data = _dump(Resource.model_validate(data))
                approved = data
            elif action == "reject":
                if status != ReviewStatus.IN_REVIEW:
                    raise WorkflowError(f"only a resource in review can be rejected; {resource_id} is {status}")
                data["status"] = ReviewStatus.DRAFT.value
            else:
                if status == ReviewStatus.RETIRED:
                    raise WorkflowError(f"{resource_id} is already retired")
                data["status"] = ReviewStatus.RETIRED.value
            return self._write(conn, row, data, actor, action, now, approved)

    def page(
        self, offset: int = 0, limit: int = 50, rtype: str | None = None,
        status: str | None = None, topic: str | None = None,
    ) -> tuple[list[StoredResource], int]:
        """A page of resources in id order, with the total that match."""
        query = select(resources_table).order_by(resources_table.c.id)
        if rtype:
            query = query.where(resources_table.c.type == rtype)
        if status:
            query = query.where(resources_table.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        found = [self._row_to_stored(r) for r in rows]
        if topic:
            found = [s for s in found if topic in s.resource.topics]
        return found[offset : offset + limit], len(found)

    def history(self, resource_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(audit_table)
                .where(audit_table.c.resource_id == resource_id)
                .order_by(audit_table.c.id)
            ).all()
        return [
            {"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "changes": r.changes}
            for r in rows
        ]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return len(conn.execute(select(resources_table.c.id)).all())
