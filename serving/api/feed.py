"""The catalog feed for platform keys (``content_catalog.feed``): mirror the catalog your
users may be served, then fetch only what changed, with ETags for cheap polling."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from content_catalog.feed import START, CatalogFeed, CursorCodec, CursorError
from content_catalog.publish import renderable
from serving.auth import require
from serving.errors import ApiError
from serving.openapi import ETAG, doc, parse_query
from serving.state import state
from storage.api_keys import Role

bp = Blueprint("feed", __name__, url_prefix="/v1")


class FeedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(default=None, max_length=400, description=(
        "The `next_cursor` of your previous page; omit it to start a full mirror."))
    limit: int = Field(default=100, ge=1, le=500, description="Entries per page at most.")


class FeedEntryOut(BaseModel):
    resource_id: str
    deleted: bool = Field(description="True: a tombstone, the resource is no longer served; remove it.")
    resource: dict[str, Any] | None = Field(
        default=None, description="The approved resource as your users may be served it (absent on a tombstone).")


class FeedPageOut(BaseModel):
    items: list[FeedEntryOut]
    next_cursor: str = Field(description="Send it as `cursor` for the next page, or later for what changed since.")
    has_more: bool = Field(description="False once you have caught up; poll later with `next_cursor`.")


def _codec() -> CursorCodec:
    return CursorCodec(state().settings.erasure_salt)


@bp.get("/catalog/feed")
@require(Role.PLATFORM)
@doc(query=FeedQuery, ok=FeedPageOut, tags=["resources"], response_headers={200: ETAG},
     empty={304: "Nothing changed since the page whose ETag you sent in If-None-Match."},
     request_headers={"If-None-Match": "The ETag of the page you have: a 304 while it is still current."})
def catalog_feed():  # no return hint: spectree evaluates a view's hints at run time
    """The catalog your users may be served, in change order.

    Start without a cursor and follow `next_cursor` while `has_more` is true: that is a
    full mirror. Keep the last `next_cursor`; later it returns only what changed since:
    the new approved version of each changed resource, and a tombstone (`deleted: true`)
    for each one retired or withdrawn. An entry may come twice if it changed while you
    paged; applying one is idempotent. Send the page's `ETag` back as `If-None-Match` to
    get a 304 when nothing changed. A cursor is bound to your tenant: one altered or issued
    to another key's tenant is a 422.

    The feed is the approved catalog as your tenant sees it (the global catalog and your
    own resources). Your tenant policy (excluded topics, paused flagged resources, the
    under-18 rules) is applied per request by recommendations, search and similar; apply
    it yourself if you list mirrored content directly.
    """
    q = parse_query(FeedQuery)
    codec = _codec()
    try:
        after = codec.decode(g.tenant, q.cursor) if q.cursor else START
    except CursorError as exc:
        raise ApiError(422, "invalid_cursor", f"cursor: {exc}", "cursor") from None
    page = CatalogFeed(state().engine).page(g.tenant, after, q.limit)
    body = {
        "items": [
            {"resource_id": e.resource_id, "deleted": True} if e.resource is None
            else {"resource_id": e.resource_id, "deleted": False, "resource": renderable(e.resource)}
            for e in page.entries
        ],
        "next_cursor": codec.encode(g.tenant, page.position),
        "has_more": page.has_more,
    }
    response = jsonify(body)
    # the page's own hash: equal bodies, equal tags, whatever the cursor that led there
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
    response.set_etag(digest)
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)
