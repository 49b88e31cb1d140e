"""Who may change which catalog resource, and which changes wait for review.

This module is the one rule that the editor API, the command line, imports and the seed
path all go through (``content_catalog.store`` calls it inside every write transaction),
so no path can change what users read without the same ownership and review checks.

Ownership: a resource with no owner is in the *global* catalog, served to every tenant,
and only global staff change it. A resource owned by a tenant is private to that tenant:
only its staff see or change it, and only its users are served it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from content_catalog.schema import Resource
from core.taxonomy import ReviewStatus
from storage.staff import StaffAccount


class CatalogError(Exception):
    """A workflow rule was broken; the message says which, for the editor to read."""


class NotFound(CatalogError):
    """No such resource, or one the caller may not even learn exists (another tenant's)."""


class Forbidden(CatalogError, PermissionError):
    """The caller sees the resource but lacks the ownership or the right to change it."""


class StaleVersion(CatalogError):
    """Someone changed the resource since the editor read it (optimistic concurrency).

    ``since`` holds the audit entries written after the editor's version (who, when,
    what changed), so a stale form can say who changed what meanwhile."""

    def __init__(self, message: str, since: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.since = since or []


class WorkflowError(CatalogError):
    pass


# Workflow state: set only by the review workflow, never by an edit or an imported file.
WORKFLOW_FIELDS = frozenset({"status", "reviewed_by", "reviewed_at"})

# Every content field needs review when it changes, because users read it (title,
# summary, body, steps, url, contact, group details...) or it decides who is served it
# (type, topics, locales, audience, content warnings, country, is_crisis_resource...).
# The only exceptions are purely internal fields, listed here:
# - ``tags``: editors' search labels. No endpoint shows them to users and no safety rule
#   reads them; they only nudge the ranking among content that is already approved.
REVIEW_EXEMPT_FIELDS = frozenset({"tags"})

# Actions on a crisis line that need the reviewer right (besides approving, which always
# does): a wrong edit or a retirement could withhold help from someone in crisis.
# ``checked``: confirming that a line's contact still works is a reviewer's statement.
CRISIS_GUARDED_ACTIONS = frozenset({"edit", "retire", "checked"})

# Decisions of review: only a person with the reviewer right takes them.
REVIEWER_ACTIONS = frozenset({"approve", "reject"})

# Audit actions that write content (the others move it through the workflow).
CONTENT_ACTIONS = frozenset({"create", "edit", "update"})

MAX_COMMENT_LENGTH = 2000


def needs_review(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether going from ``old`` to ``new`` changes anything a user reads or reaches."""
    ignored = WORKFLOW_FIELDS | REVIEW_EXEMPT_FIELDS
    keys = (set(old) | set(new)) - ignored
    return any(old.get(k) != new.get(k) for k in keys)


def same_content(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether two records say the same thing, whatever their workflow state."""
    keys = (set(old) | set(new)) - WORKFLOW_FIELDS
    return all(old.get(k) == new.get(k) for k in keys)


@dataclass(frozen=True)
class Actor:
    """Who is changing the catalog: the name the audit log records, and the rights held.

    ``tenant`` is the tenant whose staff the actor is. Only the operator of the command
    line has no tenant: it acts as global staff, sees every resource, and changes a
    tenant's private resources only when it names that tenant (``--tenant``).
    """

    name: str
    tenant: str | None = None
    global_staff: bool = False
    reviewer: bool = False

    def __post_init__(self) -> None:
        if self.tenant is None and not self.global_staff:
            raise ValueError("an actor without a tenant must be global staff")
        if not self.name:
            raise ValueError("an actor needs a name for the audit log")

    @classmethod
    def operator(cls, name: str, reviewer: bool = False, tenant: str | None = None) -> "Actor":
        """The command line's caller: global staff, or one tenant's staff with ``--tenant``."""
        if tenant is None:
            return cls(name, None, global_staff=True, reviewer=reviewer)
        return cls(name, tenant, global_staff=False, reviewer=reviewer)

    @property
    def new_owner(self) -> str | None:
        """Global staff add to the global catalog; a tenant's staff add private resources."""
        return None if self.global_staff else self.tenant

    @classmethod
    def for_staff(cls, account: StaffAccount, key_tenant: str | None = None) -> "Actor":
        """A staff account as a catalog actor: its name is what the audit trail records,
        its role decides the reviewer right, and an account without a tenant is global
        staff. ``key_tenant``: the tenant of the API key a global account acts through,
        which keeps that key's view of private resources to its own tenant's."""
        if account.tenant is None:
            return cls(account.name, key_tenant, global_staff=True, reviewer=account.reviewer)
        return cls(account.name, account.tenant, global_staff=False, reviewer=account.reviewer)

    def sees(self, owner: str | None) -> bool:
        return owner is None or self.tenant is None or owner == self.tenant


def authorise(
    actor: Actor, resource_id: str, owner: str | None, action: str, crisis: bool = False,
) -> None:
    """Raise unless ``actor`` may do ``action`` to a resource owned by ``owner``.

    Another tenant's private resource answers :class:`NotFound`, so a caller cannot even
    learn that it exists; a resource the caller sees but may not change answers
    :class:`Forbidden`.
    """
    if not actor.sees(owner):
        raise NotFound(f"no resource {resource_id!r}")
    if owner is None and not actor.global_staff:
        raise Forbidden(f"{resource_id} is in the global catalog, which only global staff change")
    if owner is not None and owner != actor.tenant:
        raise Forbidden(f"{resource_id} is private to tenant {owner}; only its staff change it (--tenant {owner})")
    if action in REVIEWER_ACTIONS and not actor.reviewer:
        verb = "approving" if action == "approve" else "rejecting"
        raise Forbidden(f"{verb} needs the reviewer right")
    if crisis and action in CRISIS_GUARDED_ACTIONS and not actor.reviewer:
        verb = {"edit": "editing", "retire": "retiring", "checked": "confirming"}[action]
        raise Forbidden(f"{resource_id} is a crisis line: {verb} it needs the reviewer right")


def last_content_author(entries: Iterable[Mapping[str, Any]]) -> str | None:
    """Who last changed what a user reads or reaches, from the audit trail (oldest first):
    the last create, edit or import whose changes touch a field under review (a change of
    ``tags`` alone, or a workflow step, makes no one an author)."""
    ignored = WORKFLOW_FIELDS | REVIEW_EXEMPT_FIELDS | {"approved_version"}
    author = None
    for entry in entries:
        if entry["action"] in CONTENT_ACTIONS and set(entry["changes"]) - ignored:
            author = entry["actor"]
    return author


def check_four_eyes(actor: Actor, resource_id: str, author: str | None) -> None:
    """Four eyes: nobody approves content they last changed themselves; a second person
    with the reviewer right must read it."""
    if author is not None and author == actor.name:
        raise Forbidden(f"four eyes: {actor.name} last changed the content of {resource_id}, "
                        "so another reviewer must approve it")


def check_comment(action: str, comment: str | None) -> str | None:
    """A rejection says what to change (the author reads it); any comment is bounded."""
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT_LENGTH:
        raise WorkflowError(f"a comment has at most {MAX_COMMENT_LENGTH} characters")
    if action == "reject" and not text:
        raise WorkflowError("a rejection needs a comment saying what to change")
    return text or None


def record_with_status(data: Mapping[str, Any], status: ReviewStatus) -> dict[str, Any]:
    """``data`` in a new state. A draft or a record in review names no reviewer, so text
    under review is never shown as approved by whoever approved the previous text."""
    out = {k: v for k, v in data.items() if k not in WORKFLOW_FIELDS}
    out["status"] = status.value
    if status == ReviewStatus.RETIRED:
        out.update({k: data[k] for k in ("reviewed_by", "reviewed_at") if k in data})
    return out


def approved_record(data: Mapping[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    """``data`` approved by ``actor``: the reviewer recorded is the caller, never the input."""
    if not actor.reviewer:
        raise Forbidden("approving needs the reviewer right")
    out = record_with_status(data, ReviewStatus.APPROVED)
    out.update(reviewed_by=actor.name, reviewed_at=now.isoformat().replace("+00:00", "Z"))
    return Resource.model_validate(out).model_dump(mode="json", exclude_none=True)


def changed_records(
    resource_id: str, status: str, old: Mapping[str, Any], new: Mapping[str, Any],
    actor: Actor, now: datetime, approve: bool = False,
) -> tuple[dict[str, Any], dict[str, Any] | bool]:
    """The review rule for a content change, used by edits and imports alike.

    Returns the new current record and the new approved record, or False when the last
    approved version keeps serving. A change to anything users read or reach sends an
    approved resource back to review; a change only to exempt fields of approved content
    goes live at once. ``approve`` (an import by a reviewer who asked for it) approves
    the new text as the caller.
    """
    current = ReviewStatus(status)
    if current == ReviewStatus.RETIRED:
        raise WorkflowError(f"{resource_id} is retired: un-retire it before changing it")
    if approve:
        data = approved_record(new, actor, now)
        return data, data
    if current == ReviewStatus.APPROVED and not needs_review(old, new):
        data = record_with_status(new, current)
        data.update({k: old[k] for k in ("reviewed_by", "reviewed_at") if k in old})
        return data, data
    next_status = ReviewStatus.IN_REVIEW if current == ReviewStatus.APPROVED else current
    return record_with_status(new, next_status), False
