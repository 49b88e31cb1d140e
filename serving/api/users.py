"""A user's profile (features, locale, age band, opt-outs) and erasure."""

from __future__ import annotations

import redis
from flask import Blueprint, Response, g, jsonify
from pydantic import BaseModel

from core.users import UserProfile
from serving.api.recommendations import checked_user_id
from serving.auth import require
from serving.errors import ApiError
from serving.openapi import doc, parse_json
from serving.schemas import UserProfileIn
from serving.state import state
from storage.api_keys import Role
from storage.erasure import erase_user, export_user
from storage.user_state import put_profile

bp = Blueprint("users", __name__, url_prefix="/v1")


class UserExport(BaseModel):
    user_id: str
    tenant: str
    profile: dict[str, object] | None
    events: list[dict[str, object]]
    derived: dict[str, object]
    model_versions: list[str]
    experiment_arms: list[dict[str, str]]


@bp.get("/users/<user_id>")
@require(Role.PLATFORM)
@doc(ok=UserExport, tags=["users"], errors=(401, 422))
def get_user(user_id: str) -> Response:
    """Everything Solace holds about one of your users, as JSON: profile and opt-outs,
    events, what was derived from them, and the model versions that hold a vector of
    theirs (a user's right of access and to portability). Logged with a salted hash only.
    An unknown user gets the same shape, empty."""
    st = state()
    uid = checked_user_id(user_id)
    return jsonify(export_user(st.settings, st.engine, st.redis, st.keys, g.tenant, uid))


@bp.put("/users/<user_id>")
@require(Role.PLATFORM)
@doc(json=UserProfileIn, ok=UserProfileIn, tags=["users"], errors=(400, 401, 422))
def put_user(user_id: str):  # type: ignore[no-untyped-def]  # no return hint: spectree evaluates a view's hints at run time
    """Set what the platform shares about a user: feature tokens, locale, age band, opt-outs.

    No names, contact details or free text: only these fields are accepted.
    """
    st = state()
    uid = checked_user_id(user_id)
    body = parse_json(UserProfileIn)
    profile = UserProfile(
        features=list(body.features), locale=body.locale, age_band=body.age_band,
        opt_outs=[str(t) for t in body.opt_outs],
    )
    st.profiles.put(g.tenant, uid, profile)
    try:
        put_profile(st.redis, st.keys, g.tenant, uid, profile)
    except redis.RedisError:  # stored in SQL, which serving reads until Redis is back
        st.changed_without_redis(g.tenant, {uid})
    return jsonify(profile.to_json())


@bp.delete("/users/<user_id>")
@require(Role.PLATFORM)
@doc(tags=["users"], status=204, errors=(401, 422))
def delete_user(user_id: str):  # type: ignore[no-untyped-def]  # no return hint: spectree evaluates a view's hints at run time
    """Erase every trace of the user: events, profile, vectors, seen sets, cached lists.

    Answers 204 whether or not the user existed, so erasure reveals nothing.
    """
    st = state()
    uid = checked_user_id(user_id)
    try:
        erase_user(st.settings, st.engine, st.redis, st.keys, g.tenant, uid)
    except redis.RedisError:
        # SQL is erased; Redis is finished when it answers again, but only a complete
        # erasure is confirmed: the platform retries
        st.changed_without_redis(g.tenant, {uid}, erased=True)
        raise ApiError(503, "unavailable", "erasure recorded but not yet complete (the cache is unreachable); "
                       "retry this request", headers={"Retry-After": "5"}) from None
    return "", 204
