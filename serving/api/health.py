"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from serving.openapi import doc
from serving.state import state

bp = Blueprint("health", __name__)


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str
    checks: dict[str, bool]
    model_version: str | None = None


@bp.get("/healthz")
@doc(ok=HealthOut, tags=["operations"], public=True)
def healthz():
    """The process is up."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@doc(ok=ReadyOut, other={503: ReadyOut}, tags=["operations"], public=True)
def readyz():
    """Redis answers and holds Solace's state (rebuilt from SQL after a loss), and an
    active model is loaded; 503 otherwise."""
    st = state()
    checks = {"redis": False, "state": False, "model": False}
    try:
        checks["state"] = st.cache.check()
        checks["redis"] = True
        if checks["state"]:
            st.redis_back()
        else:
            st.redis_lost()
    except Exception:  # noqa: BLE001 - any failure means not ready
        st.cache.mark_degraded()
    checks["model"] = st.cache.model is not None
    ready = all(checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks,
            "model_version": st.cache.model.version if st.cache.model else None}
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
@doc(tags=["operations"], public=True, media={200: "text/plain"})
def metrics():
    """Prometheus text format: requests and latency per route, model version, cache hits."""
    return Response(current_app.extensions["solace_metrics"].exposition(), content_type=CONTENT_TYPE_LATEST)
