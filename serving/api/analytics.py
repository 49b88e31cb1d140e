"""Outcome figures for the people who keep the content useful (editor and admin keys)."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal
from typing import Annotated, Any

from flask import Blueprint, Response, g, jsonify
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from analytics.report import resource_figures
from serving.auth import require
from serving.errors import ApiError
from serving.openapi import doc, parse_json, parse_query
from serving.state import state
from storage.api_keys import Role

bp = Blueprint("analytics", __name__, url_prefix="/v1")


def _iso_date(value: Any) -> Any:
    """A day as YYYY-MM-DD only: pydantic would also read ``0`` as 1970-01-01."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("use an ISO 8601 date, YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class AnalyticsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: IsoDate | None = Field(default=None, description="First day counted (UTC), ISO 8601.")
    until: IsoDate | None = Field(default=None, description="Last day counted (UTC), ISO 8601.")
    tenant: str | None = Field(default=None, description="Global staff only: one tenant's figures "
                               "(default: every tenant). Other keys always see their own tenant.")


class AnalyticsResponse(BaseModel):
    tenant: str | None
    since: date | None
    until: date | None
    resources: list[dict[str, object]]


@bp.get("/analytics/resources")
@require(Role.EDITOR)
@doc(query=AnalyticsQuery, ok=AnalyticsResponse, tags=["analytics"])
def resources() -> Response:
    """Per resource: impressions, clicks, starts, completions, and the completion,
    helpful, dismiss and content-report rates with 95% Wilson intervals, and why a resource
    is flagged for review. Kept up to date at ingestion; read in one query."""
    q = parse_query(AnalyticsQuery)
    key = g.api_key
    tenant: str | None = key.tenant
    if getattr(key, "global_staff", False):
        tenant = q.tenant
    elif q.tenant is not None and q.tenant != key.tenant:
        raise ApiError(403, "forbidden", "tenant: a tenant's key reads its own figures only", "tenant")
    rows = resource_figures(state().engine, tenant, q.since, q.until)
    return jsonify({"tenant": tenant, "since": q.since, "until": q.until, "resources": [r.as_json() for r in rows]})


class FlagsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "kept", "retired", "all"] = Field(default="open", description="Which flags to list.")


class FlagsResponse(BaseModel):
    flags: list[dict[str, object]]


class FlagDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["kept", "retired"] = Field(description="Keep the resource (its pause lifts) or retire it.")
    comment: str = Field(min_length=3, max_length=2000, description="What the evidence showed; in the audit trail.")


@bp.get("/analytics/flags")
@require(Role.EDITOR)
@doc(query=FlagsQuery, ok=FlagsResponse, tags=["analytics"], errors=(401, 403, 422))
def list_flags() -> Response:
    """Resources their outcomes sent back to clinical review, with the evidence (counts and
    intervals over the last 90 days) and the reviewer's decision once made. A tenant's key
    sees flags on the global catalog and on its own resources."""
    from content_catalog.flags import FlagStore

    q = parse_query(FlagsQuery)
    st = state()
    key = g.api_key
    flags = FlagStore(st.engine).all(None if q.status == "all" else q.status,
                                     None if getattr(key, "global_staff", False) else key.tenant)
    return jsonify({"flags": [f.as_json() for f in flags]})


@bp.post("/analytics/flags/<resource_id>/decision")
@require(Role.EDITOR)
@doc(json=FlagDecisionIn, ok=FlagsResponse, tags=["analytics"], errors=(400, 401, 403, 404, 422))
def decide_flag(resource_id: str) -> Response:
    """A reviewer's decision on an open flag: ``kept`` or ``retired`` (through the catalog's
    retire action), with a comment; both are in the audit trail."""
    from analytics.flags import decide
    from content_catalog.access import Forbidden, NotFound, WorkflowError
    from serving.api.catalog import _actor

    body = parse_json(FlagDecisionIn)
    st = state()
    try:
        flag = decide(st.engine, st.redis, st.keys, resource_id, body.decision, _actor(), body.comment)
    except NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except WorkflowError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None
    return jsonify({"flags": [flag.as_json()]})
