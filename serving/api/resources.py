"""Catalog lookups for platforms: semantic search and similar resources."""

from __future__ import annotations

import json
import time

import numpy as np
from flask import Blueprint, g, jsonify

from recommender.catalog_view import CatalogView
from recommender.policy import PolicyRequest, apply_policy
from serving.auth import require
from serving.errors import ApiError
from serving.model_cache import LoadedModel
from serving.openapi import doc, parse_query
from serving.recommend import ALL_TYPES, read_context, shown, support_for
from serving.schemas import ItemsResponse, SearchQuery, SearchResponse, SimilarQuery
from serving.state import state
from storage.api_keys import Role

bp = Blueprint("resources", __name__, url_prefix="/v1")


def _items(view: CatalogView, rows: list[int], scores: np.ndarray, score: bool = True) -> list[dict[str, object]]:
    now = time.time()
    out = []
    for row in rows:
        head, tail = shown(view, row, now)
        out.append({
            **head,
            "score": round(float(scores[row]), 6) if score else None,
            "reason": "Free, confidential support you can reach right now" if not score else None,
            **tail,
        })
    return out


def _lookup_policy(**kw: object) -> PolicyRequest:
    """Lookups are not lists for one user: no diversity caps, but the tenant's exclusions hold."""
    st = state()
    raw = st.redis.get(st.keys.tenant_policy(g.tenant))
    tenant = json.loads(raw) if raw else {}
    return PolicyRequest(
        max_topic_share=1.0, max_heavy_share=1.0,
        extra_excluded_topics=frozenset(tenant.get("excluded_topics", [])),
        is_minor=bool(tenant.get("treat_all_as_minors")), tenant=g.tenant, **kw,  # type: ignore[arg-type]  # PolicyRequest fields passed through
    )


def _ready_model() -> tuple[LoadedModel, CatalogView]:
    st = state()
    st.cache.check()
    model, view = st.cache.pair()
    if model is None or view is None or model.embeddings is None:
        raise ApiError(503, "no_model", "no active model with embeddings yet")
    return model, view


@bp.get("/resources/search")
@require(Role.PLATFORM)
@doc(query=SearchQuery, ok=SearchResponse, tags=["resources"])
def search():
    """Semantic search of the approved catalog (the query is not stored)."""
    q = parse_query(SearchQuery)
    model, view = _ready_model()
    vec, assessment = read_context(state(), q.q)
    assert vec is not None
    scores = model.embeddings @ vec
    req = _lookup_policy(types=frozenset(q.types) if q.types else ALL_TYPES, locale=q.locale,
                         risk=assessment.crisis, support=support_for(assessment.level, assessment))
    crisis_rows, rows = apply_policy(view, scores, q.k, req, mmr_lambda=1.0)
    # a search for crisis words is a person reaching out: the crisis lines come first
    items = _items(view, crisis_rows, scores, score=False) + _items(view, rows, scores)
    return jsonify({"crisis": bool(crisis_rows), "risk": assessment.level.value, "items": items})


@bp.get("/resources/<resource_id>/similar")
@require(Role.PLATFORM)
@doc(query=SimilarQuery, ok=ItemsResponse, tags=["resources"], errors=(401, 404, 422))
def similar(resource_id: str):  # type: ignore[no-untyped-def]  # no return hint: spectree evaluates a view's hints at run time
    """Approved resources closest in meaning to one resource."""
    q = parse_query(SimilarQuery)
    model, view = _ready_model()
    row = model.item_index.get(resource_id)
    if row is None or not view.servable_for(g.tenant)[row]:
        raise ApiError(404, "not_found", f"no servable resource {resource_id!r}", "resource_id")
    embeddings = model.embeddings
    assert embeddings is not None  # _ready_model answers 503 without them
    scores = embeddings @ embeddings[row]
    req = _lookup_policy(exclude_rows=frozenset({row}))
    _crisis, rows = apply_policy(view, scores, q.k, req, mmr_lambda=1.0)
    return jsonify({"items": _items(view, rows, scores)})
