"""Event ingestion: durable in SQL, reflected at once in the user's Redis state."""

from __future__ import annotations

import redis
from flask import Blueprint, g, jsonify

from analytics.flags import check_resources
from core.events import DEFAULT_EVENT_WEIGHTS as EVENT_WEIGHTS
from core.events import MOOD_TYPES, Event, TimeWindow
from core.experiments import arm_of
from serving.auth import require
from serving.errors import ApiError
from serving.openapi import doc, parse_json
from serving.schemas import EventBatch, EventBatchResponse
from serving.state import state
from serving.user_vectors import fold_in_users
from storage.api_keys import Role
from storage.tenants import TenantPolicyStore
from storage.user_state import apply_events

bp = Blueprint("events", __name__, url_prefix="/v1")


@bp.post("/events")
@require(Role.PLATFORM)
@doc(json=EventBatch, ok=EventBatchResponse, status=202, tags=["events"])
def post_events():
    """Record a batch of what your users did with suggestions.

    Events are deduplicated by ``event_id`` (safe to retry). Types: impression, click,
    start, complete, like, dismiss; outcomes: ``helpful``, ``not_helpful`` and
    ``content_report`` (this resource is harmful, wrong or upsetting: with a ``reason``
    code); ``distress`` (the person is in distress: crisis resources first in their lists
    for a while, counted from the event's own time). ``report`` is the older name of
    ``distress`` and still means it, for one version. At most
    ``SOLACE_MAX_EVENTS_PER_BATCH`` (default 1000) events per request.

    A batch is all or nothing: an event dated before ``SOLACE_EVENT_EARLIEST`` (default
    2000-01-01) or more than ``SOLACE_EVENT_MAX_FUTURE_SECONDS`` (default a day) ahead,
    naming a resource the catalog does not have, or holding a control character in a
    field is a 422 naming ``events.<index>.<field>``, and nothing of the batch is stored.
    """
    st = state()
    batch = parse_json(EventBatch)
    if len(batch.events) > st.settings.max_events_per_batch:
        raise ApiError(
            413, "payload_too_large",
            f"events: at most {st.settings.max_events_per_batch} events per batch", "events",
        )
    _check_times_and_resources(batch)
    _check_mood_checkins(batch)
    events = [
        Event(e.event_id, e.user_id, e.resource_id, e.type, e.timestamp, e.recommendation_id, e.reason, e.score)
        for e in batch.events
    ]
    new_ids = st.events.add_batch(g.tenant, events)
    fresh = [e for e in events if e.event_id in new_ids]
    if fresh:
        try:
            apply_events(st.redis, st.keys, g.tenant, fresh, int(st.settings.risk_window_hours * 3600))
            if st.cache.check():
                fold_in_users(st, g.tenant, {e.user_id for e in fresh if EVENT_WEIGHTS.get(e.type, 0) > 0})
        except redis.RedisError:
            # durable in SQL, which serving reads until Redis is back; then resynced
            st.changed_without_redis(g.tenant, {e.user_id for e in fresh})
        outcomes = {e.resource_id for e in fresh if e.type in ("content_report", "not_helpful")}
        if outcomes and st.flag_watch.due_any(outcomes):
            try:
                check_resources(st.engine, st.redis, st.keys, outcomes)
            except redis.RedisError:
                pass  # the flag is in SQL; the catalog is republished with the next change or restore
        credited = {tag[0] for e in fresh if (tag := arm_of(e.recommendation_id)) is not None}
        if credited:
            try:
                st.guardrails.check(st.experiments(), g.tenant, credited)
            except redis.RedisError:
                pass  # the guardrail is checked again with the next events (or when read)
    return jsonify({"accepted": len(new_ids), "duplicates": len(events) - len(new_ids)}), 202


def _check_mood_checkins(batch: EventBatch) -> None:
    """Mood scores are health information: taken only from a tenant that enabled check-ins
    (its policy's ``mood_checkins``), so nobody's mood is stored by accident."""
    first = next((n for n, e in enumerate(batch.events) if e.type in MOOD_TYPES), None)
    if first is None:
        return
    st = state()
    if not TenantPolicyStore(st.engine, st.redis, st.keys).get(g.tenant).mood_checkins:
        raise ApiError(422, "invalid_field", f"events.{first}.type: mood check-ins are off for this tenant "
                       "(an admin enables them with the tenant policy's mood_checkins)", f"events.{first}.type")


def _check_times_and_resources(batch: EventBatch) -> None:
    """Refuse the batch (422, naming the first bad event's field and index) if an event's
    time is outside the window or its resource is not in the catalog.

    A time in year 1 or 9999 once made every later training run fail, and a distress
    report dated years ago opened a crisis window as if it were new; an unknown resource
    is a client's mistake that would otherwise sit in the log for ever.
    """
    settings = state().settings
    window = TimeWindow.of(settings)
    for n, e in enumerate(batch.events):
        if e.timestamp < window.earliest:
            raise ApiError(422, "invalid_field", f"events.{n}.timestamp: {e.timestamp.isoformat()} is before "
                           f"{window.earliest.isoformat()} (SOLACE_EVENT_EARLIEST)", f"events.{n}.timestamp")
        if e.timestamp > window.latest:
            raise ApiError(422, "invalid_field", f"events.{n}.timestamp: {e.timestamp.isoformat()} is more than "
                           f"{settings.event_max_future_seconds} seconds ahead of the server's clock "
                           "(SOLACE_EVENT_MAX_FUTURE_SECONDS)", f"events.{n}.timestamp")
    unknown = state().events.unknown_resources([e.resource_id for e in batch.events], g.tenant)
    for n, e in enumerate(batch.events):
        if e.resource_id in unknown:
            raise ApiError(422, "invalid_field", f"events.{n}.resource_id: no resource {e.resource_id!r} "
                           "in the catalog", f"events.{n}.resource_id")
