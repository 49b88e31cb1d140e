"""Outcome figures for the people who keep the content useful (editor and admin keys)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from flask import Blueprint, Response, g, jsonify
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from analytics.report import resource_figures
from serving.auth import require
from serving.errors import ApiError
from serving.openapi import doc, parse_query
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
