"""Making a model version the one serving uses: publish, promote behind the metric guard,
and roll back. One implementation for the command line (``solace publish``, ``solace
models promote|rollback``) and the console's models page, so the guard cannot differ
between them.
"""

from __future__ import annotations

from content_catalog.publish import publish_catalog
from content_catalog.store import CatalogStore
from core.ids import opaque_user_id
from storage.registry import ModelRegistry, ModelVersion, trained_on_store
from storage.stores import Stores


class PromotionRefused(ValueError):
    """The metric guard (or the lack of anything to roll back to) refused; nothing changed."""


def data_source(version: ModelVersion) -> str:
    """What a version's holdout metrics were measured on: Solace's event log (however it
    was trained; it grows between versions, so its contents are not compared), or the
    files or MovieLens folder it names together with the fingerprint of what they held;
    and which kind of holdout the metrics come from (random and time splits differ)."""
    manifest = version.manifest
    # versions from before the holdout was recorded were all measured on the random one
    holdout = f"{manifest.get('holdout', {}).get('split', 'random')} holdout"
    if trained_on_store(version):
        return f"Solace's event log ({holdout})"
    fingerprint = manifest.get("data_fingerprint_full") or manifest.get("data_fingerprint")
    return f"{manifest.get('data_source')} data (fingerprint {fingerprint}, {holdout})"


def promotion_refusal(registry: ModelRegistry, version: str, metric: str) -> str | None:
    """Why ``version`` may not replace the active version on ``metric`` (None: it may).

    Refused when the candidate is below the active version, has no such metric, or was
    measured on other data than the active one (their figures cannot be compared).
    """
    candidate = registry.get(version)
    active = registry.active()
    if not active:
        return None
    incumbent = registry.get(active)
    sources = [data_source(v) for v in (candidate, incumbent)]
    if sources[0] != sources[1]:
        return (f"{version} was measured on {sources[0]} and the active {active} on {sources[1]}: their "
                f"{metric} cannot be compared; not promoted (promote without --require-metric to override)")
    current = incumbent.manifest.get("metrics", {}).get(metric)
    new = candidate.manifest.get("metrics", {}).get(metric)
    if new is None:
        known = ", ".join(sorted(candidate.manifest.get("metrics", {}))) or "none"
        return f"{version} has no metric {metric} (it has: {known})"
    if current is not None and new < current:
        return f"{version} has {metric}={new:.4f}, below the active {active} ({current:.4f}); not promoted"
    return None


def activate_version(
    stores: Stores, catalog: CatalogStore, version: str, action: str = "publish", tenant: str | None = None,
) -> dict[str, int]:
    """Write a version's vectors and the servable catalog to Redis; switch serving to it.

    ``tenant`` names the platform whose users a version trained on files describes. Those
    ids are checked as opaque pseudonyms before anything is written, as the API checks
    them. ``servable_items`` counts the version's items that are approved catalog
    resources: serving never returns anything else, whatever the model scores.
    """
    from serving.publish import publish_version
    from serving.recovery import refold_users, restore_redis

    mv = stores.registry.get(version)
    ids = mv.ids()
    if tenant is not None:
        if trained_on_store(mv):
            raise ValueError(f"{version} was trained on Solace's event log; its users already carry "
                             "their tenant, so publish it without a tenant")
        bad = []
        for user in ids["users"]:
            try:
                opaque_user_id(user)
            except ValueError as exc:
                bad.append(f"{user!r} ({exc})")
        if bad:
            more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
            raise ValueError(f"user id {bad[0]}{more}: nothing published")

    if not stores.redis.exists(stores.keys.restored):
        # an empty (or new) Redis: publishing only the version would leave serving without
        # users' state, so everything SQL and the registry hold is written, this version too
        stores.registry.record_activation(version, action, tenant=tenant)
        restored = restore_redis(stores)
        counts = {"items": len(ids["items"]), "users": restored.get("model_users", 0),
                  "users_not_published": len(ids["users"]) - restored.get("model_users", 0),
                  "removed_versions": 0, "folded_in": restored.get("folded_in", 0)}
    else:
        counts = publish_version(mv, stores.redis, stores.keys, tenant=tenant)
        stores.registry.record_activation(version, action, tenant=tenant)
        publish_catalog(catalog, stores.redis, stores.keys)
        # users serving had folded in (not in this version, or active since it was trained)
        # keep a vector: a rollback or a re-publish must not make them cold again
        counts["folded_in"] = refold_users(stores, version)
    servable = {r.id for r in catalog.servable()}
    counts["servable_items"] = sum(1 for item in ids["items"] if item in servable)
    return counts


def promote(
    stores: Stores, catalog: CatalogStore, version: str, require_metric: str | None = None,
    tenant: str | None = None,
) -> dict[str, int]:
    """Publish ``version`` and make it active, refused (nothing changes) when
    ``require_metric`` is given and the guard says no."""
    stores.registry.get(version)  # an unknown version is a KeyError before anything else
    if require_metric:
        refusal = promotion_refusal(stores.registry, version, require_metric)
        if refusal:
            raise PromotionRefused(refusal)
    return activate_version(stores, catalog, version, "promote", tenant)


def rollback(stores: Stores, catalog: CatalogStore) -> str:
    """Make the version active before the current one active again; returns it."""
    previous = stores.registry.previous()
    if previous is None:
        raise PromotionRefused("no earlier activation to roll back to (see `solace models rollback --help`)")
    activate_version(stores, catalog, previous, "rollback")
    return previous
