"""The editors' API: list, create, read, edit and review catalog resources.

Optimistic concurrency: every resource carries a version, returned as an ``ETag``; a
``PATCH`` or review with ``If-Match`` (or ``version`` in the body) fails with 409 when the
resource changed since. Every change is audited and reaches serving at once.

Ownership and review are decided by the store (``content_catalog.access``), the same rule
as the command line and imports: a key sees the global catalog and its own tenant's
private resources; another tenant's private resource answers 404, and a resource the key
sees but may not change answers 403.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from content_catalog.access import Actor, Forbidden
from storage.staff import StaffStore
from content_catalog.publish import renderable, publish_catalog
from content_catalog.schema import Resource
from content_catalog.store import NotFound, StaleVersion, StoredResource, WorkflowError
from serving.auth import require
from serving.errors import ApiError, validation_error
from serving.openapi import ETAG, doc, parse_json, parse_query
from serving.state import state
from storage.api_keys import Role

bp = Blueprint("catalog", __name__, url_prefix="/v1")


class ResourcePage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=50, ge=1, le=500)
    type: Literal["article", "exercise", "group"] | None = None
    status: Literal["draft", "in_review", "approved", "retired"] | None = None
    topic: str | None = None


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["submit", "approve", "reject", "retire", "unretire"]
    version: int | None = None
    # what the author should read (a rejection needs one); kept in the audit trail
    comment: str | None = Field(default=None, max_length=2000)


def _optional_fields(model: type[BaseModel], exclude: set[str]) -> dict[str, Any]:
    """``model``'s fields, each optional (a PATCH sends only what changes)."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name not in exclude:
            annotation: Any = field.annotation
            out[name] = (Optional[annotation], Field(default=None, description=field.description))
    return out


# A PATCH body: any field of a resource but its id and workflow state, and the version
# read (or send it as If-Match). Documentation only: the store validates the merged record.
ResourceChanges: type[BaseModel] = create_model(
    "ResourceChanges",
    __config__=ConfigDict(extra="forbid"),
    version=(int | None, Field(default=None, description="The version you read; a stale one is a 409.")),
    **_optional_fields(Resource, exclude={"id", "status", "reviewed_by", "reviewed_at"}),
)
IF_MATCH = {"If-Match": 'The version you read, as its ETag (`"3"`): a stale version is a 409.'}


class StoredResourceOut(BaseModel):
    resource: dict[str, Any]
    version: int
    approved_version_served: bool
    owner_tenant: str | None = None  # None: the global catalog


class ResourceListOut(BaseModel):
    items: list[StoredResourceOut]
    total: int
    offset: int
    limit: int


def _out(stored: StoredResource) -> dict[str, Any]:
    return {
        "resource": stored.resource.model_dump(mode="json", exclude_none=True),
        "version": stored.version,
        "approved_version_served": stored.approved is not None and stored.resource.status != "retired",
        "owner_tenant": stored.owner_tenant,
    }


def _respond(stored: StoredResource, status: int = 200) -> ResponseReturnValue:
    response = jsonify(_out(stored))
    response.status_code = status
    response.headers["ETag"] = f'"{stored.version}"'
    return response


def _expected_version(body_version: int | None) -> int | None:
    header = request.headers.get("If-Match")
    if header:
        try:
            return int(header.strip().strip('W/').strip('"'))
        except ValueError:
            raise ApiError(400, "bad_request", "If-Match must be a version ETag such as \"3\"", "If-Match") from None
    return body_version


def _publish() -> None:
    from core.encoder import get_encoder

    st = state()
    # A newly approved text is embedded here so serving can place it without a retrain.
    publish_catalog(st.catalog, st.redis, st.keys, get_encoder(st.settings.embedding_model))


def _viewer() -> Actor:
    """The key as a reader of the catalog: what its tenant may see."""
    key = g.api_key
    return Actor(f"key:{key.key_id}", tenant=key.tenant, global_staff=key.global_staff,
                 reviewer=key.reviewer)


def _actor() -> Actor:
    """The person a key acts as: changes are made by named staff, never by a key, so the
    audit trail and the four-eyes rule see people. An editor key bound to no account (or
    to a disabled one) may read but not change the catalog."""
    key = g.api_key
    if key.staff is None:
        raise ApiError(403, "forbidden", "this key is bound to no staff account, so it may only read: "
                       "create one with `solace keys create --role editor --staff NAME`")
    account = StaffStore(state().engine).get(key.staff)
    if account is None or not account.active:
        raise ApiError(403, "forbidden", f"the staff account {key.staff!r} of this key is disabled or gone")
    return Actor.for_staff(account, key.tenant)


def _workflow_error(exc: Exception, field: str | None = None) -> ApiError:
    if isinstance(exc, NotFound):
        return ApiError(404, "not_found", str(exc), "resource_id")
    if isinstance(exc, StaleVersion):
        return ApiError(409, "stale_version", str(exc), "version")
    if isinstance(exc, Forbidden):
        return ApiError(403, "forbidden", str(exc), field)
    return ApiError(409, "conflict", str(exc), field)


@bp.get("/resources")
@require(Role.EDITOR)
@doc(query=ResourcePage, ok=ResourceListOut, tags=["catalog (editors)"])
def list_resources():
    """A page of the catalog the key sees (the global catalog and its tenant's private
    resources), any status, filtered by type, status or topic."""
    q = parse_query(ResourcePage)
    items, total = state().catalog.page(q.offset, q.limit, q.type, q.status, q.topic, viewer=_viewer())
    return jsonify({"items": [_out(s) for s in items], "total": total, "offset": q.offset, "limit": q.limit})


@bp.post("/resources")
@require(Role.EDITOR)
@doc(json=Resource, ok=StoredResourceOut, status=201, tags=["catalog (editors)"], errors=(409,),
     response_headers={201: ETAG})
def create_resource():
    """Create a resource; it starts as a draft whatever status the body says. A global
    staff key adds it to the global catalog, any other editor key to its tenant's own."""
    resource = parse_json(Resource)
    try:
        stored = state().catalog.create(resource, _actor())
    except WorkflowError as exc:
        raise ApiError(409, "conflict", str(exc), "id") from None
    return _respond(stored, 201)


@bp.get("/resources/<resource_id>")
@require(Role.EDITOR, Role.PLATFORM)
@doc(ok=StoredResourceOut, tags=["catalog (editors)"], errors=(404,), response_headers={200: ETAG})
def get_resource(resource_id: str):  # type: ignore[no-untyped-def]  # no return hint: spectree evaluates a view's hints at run time
    """An editor key reads the resource with its workflow; a platform key reads what its
    users may be served: the last approved version, never a draft, a retired resource or
    another tenant's private one (those are 404)."""
    if g.api_key.role == Role.PLATFORM:
        found = state().catalog.servable_for([resource_id], g.tenant).get(resource_id)
        if found is None:
            raise ApiError(404, "not_found", f"no servable resource {resource_id!r}", "resource_id")
        return jsonify({"resource": renderable(found)})
    stored = state().catalog.get(resource_id, viewer=_viewer())
    if stored is None:
        raise ApiError(404, "not_found", f"no resource {resource_id!r}", "resource_id")
    return _respond(stored)


@bp.patch("/resources/<resource_id>")
@require(Role.EDITOR)
@doc(json=ResourceChanges, ok=StoredResourceOut, tags=["catalog (editors)"], errors=(404, 409),
     request_headers=IF_MATCH, response_headers={200: ETAG})
def patch_resource(resource_id: str):  # type: ignore[no-untyped-def]  # no return hint: spectree evaluates a view's hints at run time
    """Change some fields. Send ``If-Match: "<version>"`` to avoid overwriting someone
    else's change. Any change users read or reach (every field but ``tags``) sends approved
    content back to review while the approved version keeps serving. Editing a crisis line
    needs the reviewer right."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "the request body must be a JSON object of fields to change", "body")
    body_version = body.pop("version", None)
    try:
        stored = state().catalog.edit(resource_id, body, _actor(), _expected_version(body_version))
    except (NotFound, StaleVersion, Forbidden, WorkflowError) as exc:
        raise _workflow_error(exc) from None
    except ValidationError as exc:
        raise validation_error(exc) from None
    _publish()
    return _respond(stored)


@bp.post("/resources/<resource_id>/review")
@require(Role.EDITOR)
@doc(json=ReviewIn, ok=StoredResourceOut, tags=["catalog (editors)"], errors=(404, 409),
     request_headers=IF_MATCH, response_headers={200: ETAG})
def review_resource(resource_id: str):  # type: ignore[no-untyped-def]  # no return hint: spectree evaluates a view's hints at run time
    """``submit`` a draft, ``approve`` or ``reject`` one in review (a key bound to a
    reviewer; nobody approves content they last changed; a rejection needs a ``comment``), ``retire`` (stops serving at once; a crisis line needs the
    reviewer right) or ``unretire`` (back to review; served again once approved)."""
    body = parse_json(ReviewIn)
    try:
        stored = state().catalog.review(
            resource_id, body.action, _actor(), expected_version=_expected_version(body.version),
            comment=body.comment,
        )
    except (NotFound, StaleVersion, Forbidden, WorkflowError) as exc:
        raise _workflow_error(exc, "action") from None
    _publish()
    return _respond(stored)
