"""A user's live state in Redis: what they completed, dismissed and engaged with, their
profile, a recent-risk flag, and their cached lists.

Written by the events endpoint as events arrive and rebuilt from the SQL event log by
``sync_user_state`` (after a bulk import or simulation); read by serving per request.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from collections.abc import Mapping, Iterable, Sequence
from datetime import UTC, datetime

import redis

from core.events import DISTRESS_TYPES, DEFAULT_EVENT_WEIGHTS, Event, as_utc
from core.users import UserProfile
from storage.keyspace import Keyspace
from storage.redis_conn import text

# Keep the strongest signal per item in one round trip (a later click must not lower a like).
_HSET_MAX = """
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
"""

# Open (or keep) a risk flag for ARGV[1] milliseconds, never shortening a longer one that
# a more recent report opened (EXPIRE ... GT needs Redis 7; the embedded server is 6.2).
_RISK_AT_LEAST = """
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], 1, 'PX', ARGV[1]) end
return 1
"""


def risk_time_left(report_time: datetime, window_seconds: float, now: datetime | None = None) -> float:
    """Seconds a distress report dated ``report_time`` still keeps its risk window open.

    The window counts from the report's own time, not its arrival: a report sent late
    (a platform's retry, a backfill) opens only what is left of it, and one older than the
    window opens none. A report dated ahead of the clock (skew) opens the whole window.
    """
    now = now or datetime.now(UTC)
    age = max((now - as_utc(report_time)).total_seconds(), 0.0)
    return window_seconds - age


def apply_events(
    client: redis.Redis, keys: Keyspace, tenant: str, events: Sequence[Event],
    risk_window_seconds: int, weights: dict[str, float] = DEFAULT_EVENT_WEIGHTS,
) -> None:
    """Fold a batch of events into the users' Redis state and drop their cached lists.

    A ``report`` opens the user's risk window for the time it has left (see
    :func:`risk_time_left`), and never shortens a window already open for longer.
    """
    pipe = client.pipeline(transaction=False)
    users: set[str] = set()
    best: dict[tuple[str, str], float] = {}
    risk_ms: dict[str, int] = {}
    now = datetime.now(UTC)
    for e in events:
        users.add(e.user_id)
        w = weights.get(e.type, 0.0)
        if e.type == "complete":
            pipe.sadd(keys.user_completed(tenant, e.user_id), e.resource_id)
        if w < 0:
            pipe.sadd(keys.user_dismissed(tenant, e.user_id), e.resource_id)
            pipe.hdel(keys.user_interactions(tenant, e.user_id), e.resource_id)
        elif w > 0:
            k = (e.user_id, e.resource_id)
            best[k] = max(best.get(k, 0.0), w)
        if e.type in DISTRESS_TYPES and risk_window_seconds > 0:
            left_ms = int(risk_time_left(e.timestamp, risk_window_seconds, now) * 1000)
            if left_ms > 0:
                risk_ms[e.user_id] = max(risk_ms.get(e.user_id, 0), left_ms)
    # EVAL, not EVALSHA: a cluster pipeline does not load scripts on the nodes it reaches, and
    # a replica promoted by a failover has none loaded (each script touches one key, one
    # slot). By name: redis-py's cluster pipeline has no eval() of its own.
    for user, left_ms in risk_ms.items():
        pipe.execute_command("EVAL", _RISK_AT_LEAST, 1, keys.user_risk(tenant, user), left_ms)
    for (user, item), w in best.items():
        pipe.execute_command("EVAL", _HSET_MAX, 1, keys.user_interactions(tenant, user), item, w)
    for user in users:
        pipe.delete(keys.user_cached_lists(tenant, user))
    pipe.execute()


def put_profile(client: redis.Redis, keys: Keyspace, tenant: str, user: str, profile: UserProfile) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.set(keys.user_profile(tenant, user), json.dumps(profile.to_json()))
    pipe.delete(keys.user_cached_lists(tenant, user))
    pipe.execute()


@dataclass
class DerivedState:
    """What a user's events say, as serving reads it: what they completed, what they
    dismissed (never suggested again), and their strongest positive signal per resource
    (none for a dismissed one)."""

    completed: set[str] = field(default_factory=set)
    dismissed: set[str] = field(default_factory=set)
    interactions: dict[str, float] = field(default_factory=dict)


def derive_states(events: Iterable[Event], weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS) -> dict[str, DerivedState]:
    """Per user, from their events: the one rule that the Redis rebuild and the answers
    given from SQL during an outage both apply."""
    out: dict[str, DerivedState] = defaultdict(DerivedState)
    for e in events:
        state = out[e.user_id]
        w = weights.get(e.type, 0.0)
        if e.type == "complete":
            state.completed.add(e.resource_id)
        if w < 0:
            state.dismissed.add(e.resource_id)
            state.interactions.pop(e.resource_id, None)
        elif w > 0 and e.resource_id not in state.dismissed:
            state.interactions[e.resource_id] = max(state.interactions.get(e.resource_id, 0.0), w)
    return dict(out)


def sync_user_state(
    client: redis.Redis, keys: Keyspace, tenant: str, events: Iterable[Event],
    profiles: dict[str, UserProfile], weights: dict[str, float] = DEFAULT_EVENT_WEIGHTS,
    also_users: Iterable[str] = (),
) -> int:
    """Rebuild the Redis state of every user in ``events``, ``profiles`` and ``also_users``
    (the last may have no events left at all, e.g. after a retention purge)."""
    derived = derive_states(events, weights)
    completed = {u: d.completed for u, d in derived.items()}
    dismissed = {u: d.dismissed for u, d in derived.items()}
    inter = {u: d.interactions for u, d in derived.items()}
    users = set(completed) | set(dismissed) | set(inter) | set(profiles) | set(also_users)
    pipe = client.pipeline(transaction=False)
    for n, user in enumerate(sorted(users)):
        # one DEL of the user's keys (one slot; a cluster pipeline's delete() takes one key)
        pipe.execute_command(
            "DEL", keys.user_completed(tenant, user), keys.user_dismissed(tenant, user),
            keys.user_interactions(tenant, user), keys.user_cached_lists(tenant, user),
        )
        if completed.get(user):
            pipe.sadd(keys.user_completed(tenant, user), *completed[user])
        if dismissed.get(user):
            pipe.sadd(keys.user_dismissed(tenant, user), *dismissed[user])
        clean = inter.get(user, {})
        if clean:
            pipe.hset(keys.user_interactions(tenant, user), mapping=clean)  # type: ignore[arg-type]  # redis-py's Mapping keys are invariant: str is a field
        if user in profiles:
            pipe.set(keys.user_profile(tenant, user), json.dumps(profiles[user].to_json()))
        if n % 1000 == 999:
            pipe.execute()
    pipe.execute()
    return len(users)


def erase_user_state(
    client: redis.Redis, keys: Keyspace, tenant: str, user: str, versions: Iterable[str] = (),
) -> int:
    """Remove every Redis trace of one user of one tenant; returns keys and fields removed.

    Only exact names are touched: the user's own keys (:meth:`Keyspace.user_keys`) and the
    user's field in their bucket of each version's vectors (:meth:`Keyspace.user_vector`).
    A MATCH pattern over the id would also reach other users, ``alice:work`` for ``alice``
    (their keys start with hers), and a SCAN sees one node of a cluster, so neither is used.
    The versions are the ``versions`` given (the registry's and the active one) plus every
    version Redis records as published (a publish records its version before writing any of
    it) or as retired (a worker holding a retired version may have folded a user into it).
    """
    removed = int(client.delete(*keys.user_keys(tenant, user)))  # one slot: the user's tag
    pipe = client.pipeline(transaction=False)
    pipe.hkeys(keys.published_versions)
    pipe.hkeys(keys.retired_versions)
    published, retired = pipe.execute()
    every = set(versions) | {str(text(v)) for v in published} | {str(text(v)) for v in retired}
    if every:
        pipe = client.pipeline(transaction=False)
        for version in sorted(every):
            pipe.hdel(*keys.user_vector(tenant, version, user))
        removed += sum(int(n) for n in pipe.execute())
    return removed
