"""The loop that closes by itself: outcomes that say a resource harms or does not help send
it back to clinical review.

Checked as outcome events arrive (``serving.api.events``) and on demand (``solace
analytics flags --check``), over every tenant's events of the last ``window_days``: harm
reported by one platform's users is a reason for the one clinical team to look, wherever
the resource is served. A flag only opens when the interval's lower bound is above the
level with enough events (``analytics.outcomes.FlagRule``), so a few unlucky reports never
pull good content; docs/quality-loop.md says how many events that takes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import redis
from sqlalchemy import Engine

from analytics.outcomes import FlagRule, OutcomeCounts, flag_reasons
from content_catalog.access import Actor
from content_catalog.flags import Flag, FlagStore
from content_catalog.publish import publish_catalog
from content_catalog.store import CatalogStore
from storage.keyspace import Keyspace
from storage.outcomes import OutcomeStore


def check_resources(
    engine: Engine, client: redis.Redis | None, keys: Keyspace | None, resource_ids: Iterable[str] | None = None,
    rule: FlagRule | None = None, window_days: int = 90, now: datetime | None = None,
) -> list[Flag]:
    """Open a flag on each resource (of ``resource_ids``, or all) whose evidence crosses the
    rule; republish the catalog when one opened, so tenants that pause flagged resources
    stop serving it at their next request. Returns the flags opened."""
    rule = rule or FlagRule()
    since = ((now or datetime.now(UTC)) - timedelta(days=window_days)).date()
    wanted_ids = None if resource_ids is None else set(resource_ids)
    counts = OutcomeStore(engine).counts(None, since, resource_ids=wanted_ids)
    wanted = wanted_ids if wanted_ids is not None else set(counts)
    flags = FlagStore(engine)
    already = flags.open_ids()
    opened = []
    for rid in sorted(wanted - already):
        raw = counts.get(rid)
        if raw is None:
            continue
        c = OutcomeCounts(**raw)
        reasons = flag_reasons(c, rule)
        if reasons:
            evidence = {"window_days": window_days, "since": since.isoformat(),
                        **{k: v for k, v in asdict(c).items() if isinstance(v, int)}}
            flag = flags.open(rid, reasons, evidence)
            if flag is not None:
                opened.append(flag)
    if opened and client is not None and keys is not None:
        publish_catalog(CatalogStore(engine), client, keys)
    return opened


def decide(engine: Engine, client: redis.Redis | None, keys: Keyspace | None, resource_id: str,
           decision: str, actor: Actor, comment: str | None) -> Flag:
    """Record a reviewer's decision on an open flag (``content_catalog.flags``) and
    republish: the pause lifts, or the retired resource leaves serving."""
    flag = FlagStore(engine).decide(resource_id, decision, actor, comment)
    if client is not None and keys is not None:
        publish_catalog(CatalogStore(engine), client, keys)
    return flag
