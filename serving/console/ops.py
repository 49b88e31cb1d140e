"""The console's operating pages: model versions (promote behind the metric guard, roll
back) and what the outcome figures say (rates with their intervals, flagged resources).

Models go through ``serving.activation`` (the same functions as ``solace models``) and
figures through ``analytics.report.resource_figures`` (the same as ``solace analytics``
and ``GET /v1/analytics/resources``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from analytics.outcomes import FlagRule
from analytics.report import resource_figures
from analytics.stats import Interval
from content_catalog.flags import FlagStore
from serving.console import bp
from serving.console.session import actor, current_staff, needs_global_admin
from serving.state import state
from storage.stores import Stores

RATES = (
    ("completion_rate", "Finished, of those who started"),
    ("helpful_rate", "Found it helpful, of those who answered"),
    ("dismiss_rate", "Dismissed, of those shown it"),
    ("content_report_rate", "Reported the content, of those shown it"),
)
CHART_ROWS = 25


def _stores() -> Stores:
    """The registry and Redis of this app, as the activation functions take them."""
    stores = current_app.extensions.get("solace_console_stores")
    if stores is None:
        st = state()
        stores = Stores(st.settings)
        # reuse the app's own engine and Redis client instead of opening new ones
        stores.__dict__["engine"], stores.__dict__["redis"], stores.__dict__["keys"] = st.engine, st.redis, st.keys
        current_app.extensions["solace_console_stores"] = stores
    return stores


# --------------------------------------------------------------------------- models
@bp.get("/models")
def models() -> str:
    from serving.activation import data_source

    registry = _stores().registry
    active = registry.active()
    versions = []
    for mv in reversed(registry.list()):
        manifest = mv.manifest
        versions.append({
            "version": mv.version, "active": mv.version == active,
            "kind": manifest.get("configuration") or manifest.get("algorithm"),
            "created_at": manifest.get("created_at", ""), "source": data_source(mv),
            "metrics": {k: v for k, v in sorted(manifest.get("metrics", {}).items()) if isinstance(v, int | float)},
        })
    metric_names = sorted({m for v in versions for m in v["metrics"]})
    account = current_staff()
    return render_template("console/models.html", title="Models", versions=versions, active=active,
                           previous=registry.previous(), metric_names=metric_names,
                           can_change=account.admin and account.tenant is None)


@bp.post("/models/promote")
@needs_global_admin
def promote_model() -> Response:
    from serving.activation import PromotionRefused, promote

    version = request.form.get("version") or ""
    metric = (request.form.get("require_metric") or "").strip() or None
    try:
        promote(_stores(), state().catalog, version, require_metric=metric)
    except KeyError:
        abort(404, f"There is no model version {version!r}.")
    except (PromotionRefused, ValueError) as exc:
        flash(f"Not promoted: {exc}", "error")
        return redirect(url_for("console.models"))
    flash(f"{version} is now the active model.")
    return redirect(url_for("console.models"))


@bp.post("/models/rollback")
@needs_global_admin
def rollback_model() -> Response:
    from serving.activation import PromotionRefused, rollback

    try:
        previous = rollback(_stores(), state().catalog)
    except PromotionRefused as exc:
        flash(f"Not rolled back: {exc}", "error")
        return redirect(url_for("console.models"))
    flash(f"Rolled back: {previous} is the active model again.")
    return redirect(url_for("console.models"))


# --------------------------------------------------------------------------- outcomes
def interval_bar(value: Interval, width: int = 140) -> dict[str, Any]:
    """Where a rate and its 95% interval sit on a 0-100% bar, for the inline SVG chart."""
    return {"x": round(value.estimate * width, 1), "low": round(value.low * width, 1),
            "high": round(value.high * width, 1), "width": width,
            "text": f"{value.estimate:.0%} (95% interval {value.low:.0%} to {value.high:.0%})"}


@bp.get("/outcomes")
def outcomes() -> str:
    account = current_staff()
    raw_since = (request.args.get("since") or "").strip()
    since = None
    error = None
    if raw_since:
        try:
            since = date.fromisoformat(raw_since)
        except ValueError:
            error = "Enter the first day as YYYY-MM-DD, for example 2026-11-01."
    tenant = account.tenant  # a tenant's staff see their own platform's figures only
    rows = resource_figures(state().engine, tenant, since, rule=FlagRule())
    visible = {s.resource.id: s.resource.title for s in state().catalog.iter_all(actor())}
    rows = [r for r in rows if r.resource_id in visible]
    charted = []
    for row in rows[:CHART_ROWS]:
        c = row.counts
        # how many people each rate is out of: a rate of nobody is not drawn
        out_of = {"completion_rate": c.starts, "helpful_rate": c.helpful + c.not_helpful,
                  "dismiss_rate": c.impressions, "content_report_rate": c.impressions}
        rates = {}
        for name, _label in RATES:
            value = row.figures.get(name)
            if isinstance(value, Interval) and out_of[name] > 0:
                rates[name] = {**interval_bar(value), "n": out_of[name]}
        charted.append({"row": row, "title": visible[row.resource_id], "rates": rates})
    flagged = [{"row": r, "title": visible[r.resource_id]} for r in rows if r.flags]
    # flags opened on the evidence, waiting for a reviewer's decision (content_catalog.flags)
    open_flags = [{"flag": f, "title": visible.get(f.resource_id, f.resource_id)}
                  for f in FlagStore(state().engine).all("open", tenant) if f.resource_id in visible]
    return render_template("console/outcomes.html", title="Effectiveness and flags", charted=charted,
                           flagged=flagged, rates=RATES, since=raw_since, error=error, total=len(rows),
                           rule=FlagRule(), tenant=tenant, open_flags=open_flags, me=account)


@bp.post("/flags/<resource_id>/decision")
def decide_flag(resource_id: str) -> Response:
    """A reviewer keeps or retires a flagged resource, with a comment: the same
    ``analytics.flags.decide`` as POST /v1/analytics/flags/{id}/decision."""
    from analytics.flags import decide
    from content_catalog.access import CatalogError, NotFound

    st = state()
    try:
        decide(st.engine, st.redis, st.keys, resource_id, request.form.get("decision", ""), actor(),
               request.form.get("comment"))
    except NotFound as exc:
        abort(404, str(exc))
    except CatalogError as exc:
        flash(f"Not done: {exc}", "error")
        return redirect(url_for("console.outcomes") + "#open-flags")
    flash(f"Decision recorded for {resource_id}.")
    return redirect(url_for("console.outcomes") + "#open-flags")


# --------------------------------------------------------------------------- experiments
EXPERIMENT_RATES = (("helpful_rate", "Helpful"), ("completion_rate", "Finished"),
                    ("content_report_rate", "Reported"))


def _bar(figure: Any, width: int = 140) -> dict[str, Any] | None:
    """An interval as the results JSON gives it ({estimate, low, high}), placed on the bar."""
    if not isinstance(figure, dict) or "estimate" not in figure:
        return None
    return interval_bar(Interval(float(figure["estimate"]), float(figure["low"]), float(figure["high"])), width)


@bp.get("/experiments")
def experiments() -> str:
    """Experiments between model versions or policy variants: a global account sees every
    tenant's, a tenant's staff their own (read only: starting and stopping stay with the
    tenant's admin key and the guardrail)."""
    account = current_staff()
    records = state().experiments().list(account.tenant)
    return render_template("console/experiments.html", title="Experiments", records=records)


@bp.get("/experiments/<tenant>/<experiment_id>")
def experiment(tenant: str, experiment_id: str) -> str:
    from serving.experiments import ExperimentNotFound

    account = current_staff()
    if account.tenant is not None and account.tenant != tenant:
        abort(404, f"There is no experiment {experiment_id!r} that you can see.")
    try:
        # the same reading as GET /v1/experiments/{id}: it applies the guardrail too
        body = state().experiments().read(tenant, experiment_id)
    except ExperimentNotFound:
        abort(404, f"There is no experiment {experiment_id!r} that you can see.")
    arms = []
    for arm in body["arms"]:  # type: ignore[attr-defined]  # the results JSON: a list of arms
        bars = {name: _bar(arm["figures"].get(name)) for name, _label in EXPERIMENT_RATES}
        arms.append({"arm": arm, "bars": bars, "comparisons": arm.get("against_control", [])})
    return render_template("console/experiment.html", title=f"Experiment {experiment_id}", body=body,
                           arms=arms, rates=EXPERIMENT_RATES, tenant=tenant)
