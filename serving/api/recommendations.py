"""Ranked suggestions: per known user (GET) and for anonymous or contextual requests (POST)."""

from __future__ import annotations

from flask import Blueprint, Response, g

from core.ids import opaque_user_id
from serving.auth import require
from serving.errors import ApiError
from serving.openapi import doc, parse_json, parse_query
from serving.rate_limit import rate_limit_key
from serving.recommend import ALL_TYPES, RecRequest, recommend
from serving.schemas import (
    RecommendationQuery,
    RecommendationRequest,
    RecommendationResponse,
)
from serving.state import state
from storage.api_keys import Role

bp = Blueprint("recommendations", __name__, url_prefix="/v1")


def _json(body: bytes) -> Response:
    return Response(body, mimetype="application/json")


def checked_user_id(user_id: str) -> str:
    try:
        return opaque_user_id(user_id)
    except ValueError as exc:
        raise ApiError(422, "invalid_field", f"user_id: {exc}", "user_id") from None


@bp.get("/users/<user_id>/recommendations")
@require(Role.PLATFORM)
@doc(query=RecommendationQuery, ok=RecommendationResponse, tags=["recommendations"])
def user_recommendations(user_id: str):  # type: ignore[no-untyped-def]  # no return hint: spectree evaluates a view's hints at run time
    """Ranked suggestions for one of your users.

    Excludes what the user completed or dismissed. An unknown user gets a popular, diverse,
    approved list. Crisis resources come first when the user recently reported distress.
    """
    q = parse_query(RecommendationQuery)
    if q.k > state().settings.max_k:
        raise ApiError(422, "invalid_field", f"k: at most {state().settings.max_k}", "k")
    req = RecRequest(
        tenant=g.tenant, user_id=checked_user_id(user_id), k=q.k,
        types=frozenset(q.types) if q.types else ALL_TYPES, locale=q.locale, explain=q.explain,
        fields=tuple(q.fields or ()), rate_key=rate_limit_key(),
    )
    return _json(recommend(state(), req))


@bp.post("/recommendations")
@require(Role.PLATFORM)
@doc(json=RecommendationRequest, ok=RecommendationResponse, tags=["recommendations"], errors=(400, 401, 422))
def contextual_recommendations():
    """Suggestions for an anonymous or contextual request.

    ``features`` (topics chosen at onboarding) give a cold user a personalised list;
    ``context.text`` (what the user is reading) is embedded for this request only and never
    stored; ``context.risk`` or crisis language in it puts crisis resources first.
    """
    body = parse_json(RecommendationRequest)
    req = RecRequest(
        tenant=g.tenant, user_id=body.user_id, k=body.k,
        types=frozenset(body.types) if body.types else ALL_TYPES, locale=body.locale,
        features=list(body.features), age_band=body.age_band,
        context_text=body.context.text, risk=body.context.risk, explain=body.explain,
        fields=tuple(body.fields), rate_key=rate_limit_key(),
    )
    return _json(recommend(state(), req))
