"""Answering one recommendation request: read the user's state from Redis in one round
trip, choose the vector to score with, apply the safety policy, explain.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from datetime import datetime
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import redis

from core.experiments import tagged_recommendation_id
from core.users import MINOR_AGE_BANDS, UserProfile
from recommender.catalog_view import TOPIC_INDEX, CatalogView
from recommender.crisis import RiskAssessment, RiskLevel, assess
from recommender.explain import chosen_topics, interest_topics_from, reason_for, support_reason
from recommender.features import profile_feature_tokens, vector_from_features
from recommender.policy import PolicyRequest, apply_policy
from recommender.scoring import chosen_topic_scores
from serving.errors import ApiError
from serving.rate_limit import refuse_if_over
from serving.fallback import UserState
from serving.model_cache import LoadedModel
from serving.state import ServingState
from storage.experiments import ArmSpec
from storage.redis_conn import field_pairs, send_pipelined
from storage.snapshot import user_vector

log = logging.getLogger("solace.serving")

ALL_TYPES = frozenset({"article", "exercise", "group"})
CONTEXT_WEIGHT = 0.5


@dataclass
class RecRequest:
    tenant: str
    user_id: str | None
    k: int
    types: frozenset[str] = ALL_TYPES
    locale: str | None = None
    features: list[str] = field(default_factory=list)
    age_band: str | None = None
    context_text: str | None = None
    risk: bool = False
    explain: bool = True
    fields: tuple[str, ...] = ()  # content to return with each item (see serving.schemas.CONTENT_FIELDS)
    rate_key: str | None = None  # whom the request counts against (serving.rate_limit); None: not limited


class StateLost(Exception):
    """Redis answers but no longer holds Solace's state (emptied or new): a restore from SQL
    has been started; until it is done, answers come from SQL."""


def _signature(req: RecRequest, model_version: str, catalog_version: int | None, arm: ArmSpec | None = None) -> str:
    payload = [model_version, catalog_version, req.k, sorted(req.types), req.locale,
               sorted(req.features), req.age_band, req.explain, sorted(req.fields),
               None if arm is None else [arm.name, arm.max_topic_share]]
    return hashlib.blake2b(json.dumps(payload).encode(), digest_size=12).hexdigest()


def _cacheable(req: RecRequest) -> bool:
    return req.user_id is not None and not req.context_text and not req.risk


def _read_state(st: ServingState, req: RecRequest) -> tuple[UserState, LoadedModel | None, CatalogView | None]:
    """Versions and user state in one pipeline; refreshes the worker's model on change.

    Returns the state with the model and view it belongs to (captured together): the
    active model's, or, for a user in a running experiment, their arm's.
    """
    keys, cache = st.keys, st.cache
    version = cache.model.version if cache.model else None
    user = req.user_id
    # the arm as of the plan this worker last read; checked against the plan read below
    held = st.plans.get(req.tenant)
    guess = held[1].arm_for(req.tenant, user) if held is not None and user is not None else None
    guess_version = guess.model_version if guess is not None else version
    commands: list[tuple[str | int, ...]] = [
        ("GET", keys.active_model), ("GET", keys.catalog_version), ("GET", keys.tenant_policy(req.tenant)),
        ("EXISTS", keys.restored), ("GET", keys.tenant_experiment(req.tenant)),
    ]
    sig = None
    if user is not None:
        commands += [
            ("HGET", *keys.user_vector(req.tenant, guess_version or "-", user)),  # the user's slot, as below
            ("SMEMBERS", keys.user_completed(req.tenant, user)),
            ("SMEMBERS", keys.user_dismissed(req.tenant, user)),
            ("HGETALL", keys.user_interactions(req.tenant, user)),
            ("GET", keys.user_profile(req.tenant, user)),
            ("EXISTS", keys.user_risk(req.tenant, user)),
        ]
        if guess_version and _cacheable(req):
            sig = _signature(req, guess_version, cache.catalog_version, guess)
            commands.append(("HGET", keys.user_cached_lists(req.tenant, user), sig))
    windows = st.rate_windows if req.rate_key is not None else ()
    now = time.time()
    for w in windows:  # counted in this round trip, not one of the limiter's own
        counter = keys.rate_window(req.rate_key or "", w.amount, w.seconds, w.start(now))
        commands += [("INCR", counter), ("EXPIRE", counter, w.seconds + 1)]
    results = send_pipelined(st.redis, commands)
    if windows:
        refuse_if_over(windows, [int(n) for n in results[-2 * len(windows)::2]], now)
    if not results[3]:
        st.redis_lost()
        raise StateLost()
    st.redis_back()
    before = (version, cache.catalog_version)
    cache.refresh(results[0], results[1])
    cache.mark_ok()
    model, view = cache.pair()
    us = UserState()
    us.tenant_policy = json.loads(results[2]) if results[2] else {}
    if st.fallback is not None:
        st.fallback.remember_policy(req.tenant, us.tenant_policy)
    plan = st.plan_of(req.tenant, results[4])
    if user is None:
        return us, model, view
    raw_vec, completed, dismissed, inter, profile, risk = results[5:11]
    arm = plan.arm_for(req.tenant, user) if plan is not None else None
    if arm is not None:
        arm_model, arm_view = cache.pair_for(arm.model_version)
        if arm_model is not None:
            model, view = arm_model, arm_view
            us.experiment, us.arm = plan.experiment_id, arm  # type: ignore[union-attr]  # arm implies a plan
    if (model.version if model else None, cache.catalog_version) != (guess_version, before[1]) or arm != guess:
        # the model, catalog or arm changed under us: read the vector for the version we now hold
        raw_vec = st.redis.hget(*keys.user_vector(req.tenant, model.version, user)) if model else None
        sig = None
    elif sig is not None:
        us.cached, us.list_key = results[11], sig
    if raw_vec is not None and model is not None:
        vec = user_vector(raw_vec)
        if vec.shape[0] == model.dim:
            us.vector = vec
    us.completed = {m.decode() for m in completed}
    us.dismissed = {m.decode() for m in dismissed}
    us.interactions = {k.decode(): float(v) for k, v in field_pairs(inter)}
    us.profile = json.loads(profile) if profile else {}
    us.risk = bool(risk)
    return us, model, view


def _state_without_redis(st: ServingState, req: RecRequest, model: LoadedModel | None) -> UserState:
    """The user's state from SQL (or the strictest rules), with a vector folded in from
    their interactions so the list stays personal during an outage."""
    if st.fallback is None:
        return UserState(strict=True)
    us = st.fallback.user_state(req.tenant, req.user_id)
    if model is not None:
        us.vector = _folded_in(model, us.interactions)
    return us


def _folded_in(model: LoadedModel, interactions: dict[str, float]) -> np.ndarray | None:
    """A vector for ``model`` solved from the user's interactions (None without any the
    model knows): the outage path and experiment arms both use it."""
    pairs = [(model.item_index[i], w) for i, w in interactions.items() if i in model.item_index]
    if not pairs:
        return None
    rows = [np.asarray([r for r, _ in pairs], dtype=np.int64)]
    confs = [np.asarray([w for _, w in pairs])]
    return model.foldin.user_vectors(model.item_matrix, rows, confs)[0]


def _feature_vector(model: LoadedModel, features: list[str], age_band: str | None) -> np.ndarray | None:
    """A cold user's vector from the hybrid model's feature embeddings, built from the same
    tokens and weights as in training; None unless one chosen feature is known to it."""
    if model.user_feature_vectors is None:
        return None
    tokens = profile_feature_tokens(UserProfile(features=features, age_band=age_band))
    if not any(t.startswith("feature:") and t in model.user_feature_index for t, _ in tokens):
        return None
    return vector_from_features(tokens, model.user_feature_index, model.user_feature_vectors)


def read_context(st: ServingState, text: str | None) -> tuple[np.ndarray | None, RiskAssessment]:
    """The text's embedding and the risk it signals: encoded once, used for both, and
    never kept."""
    if not text:
        return None, RiskAssessment(RiskLevel.NONE)
    from core.encoder import get_encoder

    encoder = get_encoder(st.settings.embedding_model)
    vec = encoder.encode([text])[0]
    return vec, assess(text, encoder, vec)


def support_for(level: RiskLevel, assessment: RiskAssessment) -> str | None:
    """What the list should lead with for this moment (see recommender.policy)."""
    if level is RiskLevel.CRISIS:
        return "crisis"
    if level is RiskLevel.CONCERN:
        return "helping" if assessment.helping else "concern"
    return None


def item_extras(card: dict[str, object]) -> dict[str, object]:
    """What a platform needs to show a group (next session) or a crisis line (contact)."""
    extras: dict[str, object] = {}
    group = card.get("group")
    if isinstance(group, dict) and "schedule" in group:
        from datetime import UTC, datetime

        from content_catalog.schema import GroupSchedule

        upcoming = GroupSchedule.model_validate(group["schedule"]).next_sessions(datetime.now(UTC), 1)
        extras["next_session"] = upcoming[0].isoformat() if upcoming else None
    contact = card.get("contact")
    if card.get("is_crisis_resource") and isinstance(contact, dict):
        extras["contact"] = {k: str(v) for k, v in contact.items() if k in ("name", "phone", "text", "web", "hours")}
    return extras


def shown(view: CatalogView, row: int, now: float) -> tuple[dict[str, object], dict[str, object]]:
    """What a list (recommendations, search, similar) shows of a row besides its score and
    reason: the fields before and after them, built once per catalog view and row instead of
    per request; a group's next session is computed again once that session has started."""
    held = view.served.get(row)
    if held is None or (held[0] is not None and now >= held[0]):
        card = view.cards[row] or {}
        head = {"resource_id": view.item_ids[row], "type": card.get("type"), "title": card.get("title"),
                "url": card.get("url")}
        tail = {"topics": card.get("topics", []), "is_crisis_resource": bool(card.get("is_crisis_resource")),
                **item_extras(card)}
        upcoming = tail.get("next_session")
        held = (datetime.fromisoformat(upcoming).timestamp() if isinstance(upcoming, str) else None, head, tail)
        view.served[row] = held
    return held[1], held[2]


def add_content(st: ServingState, tenant: str, items: list[dict[str, object]], fields: tuple[str, ...]) -> None:
    """Each item's requested content, from its approved version in SQL (one query for the
    list: the serving snapshot keeps cards small, so bodies are read only when asked)."""
    from content_catalog.publish import renderable

    found = st.catalog.servable_for([str(i["resource_id"]) for i in items], tenant)
    for item in items:
        resource = found.get(str(item["resource_id"]))
        if resource is not None:
            full = renderable(resource)
            item["content"] = {f: full[f] for f in fields if f in full}


def _standardise(scores: np.ndarray) -> np.ndarray:
    sd = float(scores.std())
    return (scores - scores.mean()) / sd if sd > 0 else scores - scores.mean()


def policy_request(st: ServingState, tenant_policy: dict[str, Any], strict: bool = False,
                   **kw: object) -> PolicyRequest:
    """The deployment's policy, made stricter (never looser) by the tenant's settings;
    ``strict`` (nothing about the user could be read) leaves out every heavy resource."""
    topic_share = min(st.settings.max_topic_share, float(tenant_policy.get("max_topic_share") or 1.0))
    heavy_share = min(st.settings.max_heavy_share, float(tenant_policy.get("max_heavy_share") if tenant_policy.get("max_heavy_share") is not None else 1.0))  # type: ignore[arg-type]  # a JSON number from the stored policy
    if strict:
        heavy_share = 0.0
    kw["is_minor"] = bool(kw.get("is_minor")) or bool(tenant_policy.get("treat_all_as_minors"))
    kw["pause_flagged"] = bool(tenant_policy.get("pause_flagged"))
    return PolicyRequest(
        max_topic_share=topic_share, max_heavy_share=heavy_share,
        extra_excluded_topics=frozenset(tenant_policy.get("excluded_topics", [])),
        **kw,  # type: ignore[arg-type]  # PolicyRequest fields passed through
    )


# Cached lists are stored with this in place of the id; each answer gets a fresh one.
_ID_SLOT = b'"recommendation_id":"________________________________"'
# the slot as lists cached before the compact encoding hold it (until their TTL ends)
_SPACED_ID_SLOT = b'"recommendation_id": "________________________________"'


def _with_new_id(cached: bytes, us: UserState) -> bytes:
    """A fresh id in the slot; inside an experiment it names the arm, so the events this
    answer causes are credited to it (core.experiments)."""
    if us.experiment is not None and us.arm is not None:
        rid = tagged_recommendation_id(us.experiment, us.arm.name)
    else:
        rid = uuid.uuid4().hex
    if _ID_SLOT in cached:
        return cached.replace(_ID_SLOT, f'"recommendation_id":"{rid}"'.encode(), 1)
    return cached.replace(_SPACED_ID_SLOT, f'"recommendation_id": "{rid}"'.encode(), 1)


def recommend(st: ServingState, req: RecRequest) -> bytes:
    """The response body as JSON bytes (cached lists are answered without re-encoding)."""
    degraded = False
    try:
        us, model, view = _read_state(st, req)
    except (redis.RedisError, StateLost) as exc:
        if isinstance(exc, redis.RedisError):
            log.warning("redis unreachable; answering from the last model held and SQL (degraded)")
            st.cache.mark_degraded()
        degraded = True
        model, view = st.cache.pair()
        if model is None:
            try:
                st.cache.load_from_disk(st.settings.models_dir, st.catalog)
            except Exception:  # noqa: BLE001 - no model on disk either: the 503 below says so
                log.warning("no model in Redis or readable from the registry")
            model, view = st.cache.pair()
        us = _state_without_redis(st, req, model)
    if us.arm is not None and us.vector is None and us.interactions and model is not None:
        # an arm's version holds vectors only of users it was trained on: fold the rest in
        # from their history, as ingestion does for the active version
        us.vector = _folded_in(model, us.interactions)
    if model is None or view is None:
        raise ApiError(503, "no_model", "no active model yet: run `solace quickstart` or `solace publish`")
    if st.metrics is not None and _cacheable(req) and not degraded:
        st.metrics.cache_lookups.labels("hit" if us.cached is not None else "miss").inc()
    if us.cached is not None:
        return _with_new_id(us.cached, us)

    profile = us.profile
    features = req.features or list(profile.get("features", []))
    locale = req.locale or profile.get("locale")
    age_band = req.age_band or profile.get("age_band")
    opt_outs = frozenset(profile.get("opt_outs", []))
    context_vec, assessment = read_context(st, req.context_text)
    risk = req.risk or us.risk or assessment.crisis or us.strict
    level = RiskLevel.CRISIS if risk else assessment.level

    source = "popular"
    scores = model.popular_scores
    if us.vector is not None:
        scores, source = model.item_matrix @ us.vector, "personalised"
    else:
        fvec = _feature_vector(model, features, age_band)
        if fvec is not None:
            scores, source = model.item_matrix @ fvec, "features"
        else:  # a model without user features: the topics the person chose still count
            chosen = chosen_topic_scores(view.topics, [TOPIC_INDEX[t] for t in chosen_topics(features)
                                                       if t in TOPIC_INDEX], model.popular_scores)
            if chosen is not None:
                scores, source = chosen, "features"
    if context_vec is not None and model.embeddings is not None:
        ctx = model.embeddings @ context_vec
        if source == "popular":
            scores, source = _standardise(ctx) + 0.1 * scores, "context"
        else:
            scores = _standardise(scores) + CONTEXT_WEIGHT * _standardise(ctx)

    index = model.item_index
    excluded = frozenset(index[i] for i in (us.completed | us.dismissed) if i in index)
    tenant_policy = us.tenant_policy
    if us.arm is not None and us.arm.max_topic_share is not None:
        # a policy arm may only tighten the tenant's cap (policy_request takes the smaller)
        tenant_policy = {**tenant_policy, "max_topic_share": min(us.arm.max_topic_share, float(tenant_policy.get("max_topic_share") or 1.0))}
    policy = policy_request(
        st, tenant_policy, types=req.types, locale=locale, opt_outs=opt_outs,
        is_minor=age_band in MINOR_AGE_BANDS or us.strict, risk=risk, exclude_rows=excluded,
        strict=us.strict, tenant=req.tenant, support=support_for(level, assessment),
    )
    crisis_rows, ranked = apply_policy(view, scores, req.k, policy, model.embeddings)

    history = [index[i] for i, w in sorted(us.interactions.items(), key=lambda kv: -kv[1])
               if i in index and w >= 4.0][:20]
    interests = interest_topics_from(view, history, features)
    ranked_set = set(ranked)
    supported = set(ranked[: len(ranked) if level is RiskLevel.CRISIS else 2]) if policy.support else set()
    items = []
    now = time.time()
    for row in crisis_rows + ranked:
        head, tail = shown(view, row, now)
        items.append({
            **head,
            "score": round(float(scores[row]), 6) if row in ranked_set else None,
            "reason": (support_reason(view, row) if row in supported and (view.coping[row] or view.helping[row]
                                                                          or view.crisis_support[row])
                       else reason_for(view, row, source, history, interests, model.embeddings)) if req.explain else None,
            **tail,
        })
    body = {
        "recommendation_id": "_" * 32,
        "model_version": model.version,
        "crisis": bool(crisis_rows),
        "risk": level.value,
        "degraded": degraded or st.cache.degraded,
        "source": source,
        "experiment": ({"experiment_id": us.experiment, "arm": us.arm.name}
                       if us.experiment is not None and us.arm is not None else None),
        "items": items,
    }
    if req.fields:
        add_content(st, req.tenant, items, req.fields)
    encoded = orjson.dumps(body)
    if (_cacheable(req) and not degraded and req.user_id and not body["crisis"]
            and st.settings.cache_ttl_seconds > 0):
        # the key the read looked under, unless the versions moved during the request
        sig = us.list_key or _signature(req, model.version, st.cache.catalog_version, us.arm)
        name = st.keys.user_cached_lists(req.tenant, req.user_id)
        try:
            send_pipelined(st.redis, [("HSET", name, sig, encoded),
                                      ("EXPIRE", name, max(1, int(st.settings.cache_ttl_seconds)))])
        except redis.RedisError:
            pass
    return _with_new_id(encoded, us)
