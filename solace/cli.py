"""The ``solace`` command line: one entry point for operators, editors and data scientists.

Every failure is one clear line on stderr and a non-zero exit; ``SOLACE_LOG_LEVEL=DEBUG``
adds the traceback.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from core.config import load_settings
from solace.services import Services
from solace.training_cli import data_options


def _services(ctx: click.Context) -> Services:
    return ctx.ensure_object(dict)["services"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="solace")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Solace: safe, private recommendations of self-help content for social platforms."""
    try:
        settings = load_settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        raise click.ClickException(
            f"configuration: SOLACE_{str(err['loc'][0]).upper()}: {err['msg']}"
        ) from None
    ctx.ensure_object(dict)["services"] = Services(settings)


# --------------------------------------------------------------------------- quickstart
@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to serve the API on.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-serve", is_flag=True, help="Stop after publishing (do not start the API).")
@click.option("--users", "n_users", type=click.IntRange(1, 1_000_000), default=600, show_default=True, help="Simulated users.")
@click.pass_context
def quickstart(ctx: click.Context, port: int, host: str, no_serve: bool, n_users: int) -> None:
    """Load the seed catalog, simulate a history, embed, train, publish and serve."""
    from solace.quickstart import run_quickstart

    services = _services(ctx)
    if not no_serve:
        _check_can_bind(host, port)  # before the offline part, not after it
    click.echo(f"Solace quick start in {services.settings.home} (embedded defaults unless configured)")
    result = run_quickstart(services, n_users=n_users, say=click.echo)
    click.echo(f"\nOffline part done in {result.seconds:.0f} s: model {result.version}")
    click.echo(
        f"Example SIMULATED user {result.example_user} has simulated needs: "
        f"{', '.join(result.example_needs)}"
    )
    curl = (
        f"curl -s -H 'Authorization: Bearer {result.api_key}' "
        f"'http://{host}:{port}/v1/users/{result.example_user}/recommendations?k=5'"
    )
    click.echo(f"\nTry it:\n  {curl}\n")
    click.echo(f"API docs: http://{host}:{port}/docs   (the demo key is kept in {services.settings.home / 'demo_api_key'})")
    if no_serve:
        return
    from solace.serve import serve as run_server

    click.echo(f"Serving on http://{host}:{port} (Ctrl-C to stop)")
    run_server(services.settings, host=host, port=port, workers=2, threads=4)


# --------------------------------------------------------------------------- serve
@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Threads per worker (gthread: keep-alive, and numpy releases the GIL).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, threads: int) -> None:
    """Serve the HTTP API with gunicorn."""
    from solace.serve import serve as run_server

    settings = _services(ctx).settings
    _check_can_bind(host, port)
    click.echo(f"Serving on http://{host}:{port} ({workers} workers x {threads} threads; "
               f"API docs at /docs; Ctrl-C to stop)", err=True)
    run_server(settings, host=host, port=port, workers=workers, threads=threads)
    click.echo("Stopped.", err=True)


def _check_can_bind(host: str, port: int) -> None:
    """One clear line for a busy port or a bad host, before gunicorn retries the bind and
    prints the same error five times."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise click.BadParameter(f"{host!r} is not an address this machine can listen on ({exc.strerror})",
                                 param_hint="'--host'") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror} "
                                       "(another server on that port? give --port)") from None


@cli.command(name="openapi")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
def openapi_cmd(file: Path | None) -> None:
    """Write the API's OpenAPI 3 document to FILE (stdout without FILE)."""
    from serving.app import build_openapi

    text = json.dumps(build_openapi(), indent=2)
    if file is None:
        click.echo(text)
    else:
        file.write_text(text + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- offline jobs
@cli.command()
@click.option("--item-text", "item_texts", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An item_id,text file (CSV or Parquet) to embed instead of the catalog (repeatable); "
                   "train, evaluate and tune --item-text then reuse its vectors.")
@click.pass_context
def embed(ctx: click.Context, item_texts: tuple[Path, ...]) -> None:
    """Embed approved resources (or --item-text files) whose text changed (incremental)."""
    from solace.jobs import embed_catalog, embed_item_text_files
    from training.data_io import LoadError

    if item_texts:
        try:
            report = embed_item_text_files(_services(ctx), item_texts, progress=sys.stderr.isatty())
        except LoadError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{report.total} texts: {report.encoded} encoded, {report.reused} unchanged")
        return
    report = embed_catalog(_services(ctx), progress=sys.stderr.isatty())
    click.echo(f"{report.total} resources: {report.encoded} encoded, {report.reused} unchanged")


def _parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r}: use NAME=VALUE", param_hint="--param")
        try:
            params[name] = json.loads(raw)
        except json.JSONDecodeError:
            params[name] = raw
    return params


PUBLISH_TENANT_OPTION = click.option(
    "--tenant", "publish_tenant", default=None,
    help="For a version trained on files: the platform (tenant) whose users its user ids are.")


@cli.command()
@click.option("--algorithm", type=click.Choice(["lightfm", "als", "bpr", "popularity", "content"]),
              default="lightfm", show_default=True)
@click.option("--config", "config_name", default=None,
              help="A named configuration of `solace evaluate --list-configs` (overrides --algorithm).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Algorithm parameter, e.g. --param no_components=64 (repeatable).")
@click.option("--split", "split_kind", type=click.Choice(["random", "time", "predefined"]), default=None,
              help="The holdout the version's metrics are measured on before it is refit on all data: "
                   "random (20% per user, the default), time (each user's latest 20%) or predefined "
                   "(MovieLens ua.base/ua.test, the figures of `solace evaluate`).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of the holdout split and the model (default SOLACE_RANDOM_STATE).")
@click.option("--threads", type=click.IntRange(1, 64), default=None, help="Training threads (default SOLACE_THREADS).")
@click.option("--publish/--no-publish", "do_publish", default=False,
              help="Publish the new version to Redis right away.")
@PUBLISH_TENANT_OPTION
@data_options
@click.pass_context
def train(ctx: click.Context, algorithm: str, config_name: str | None, params: tuple[str, ...],
          split_kind: str | None, seed: int | None, threads: int | None, do_publish: bool,
          publish_tenant: str | None, **data_opts: Any) -> None:
    """Train a model (Solace's event log and catalog, or DATA OPTIONS); saves a new model version.

    Everything the user typed (parameters, tenant) is checked before any data is loaded:
    a typo should cost a second, not a training run.
    """
    from solace.jobs import train_from_store
    from training.models import ParamError

    services = _services(ctx)
    settings = services.settings
    seed = settings.random_state if seed is None else seed
    n_threads = settings.threads if threads is None else threads
    on_files = bool(data_opts.get("interactions") or data_opts.get("movielens"))
    if publish_tenant is not None:
        if not do_publish:
            raise click.BadParameter("only used with --publish: add --publish, or drop --tenant",
                                     param_hint="'--tenant'")
        _check_tenant(publish_tenant)
        if not on_files:
            raise click.BadParameter("a version trained on Solace's event log is published without a tenant "
                                     "(its users already carry theirs)", param_hint="'--tenant'")
    given = {k: v for k, v in data_opts.items() if v not in (None, ())}
    parsed = _parse_params(params)
    if not given and config_name is None and split_kind is None:
        from training.models import check_params

        try:
            check_params(algorithm, parsed)
        except ParamError as exc:
            raise click.BadParameter(str(exc), param_hint="'--param'") from None
        outcome = train_from_store(services, algorithm, parsed or None, say=click.echo,
                                   random_state=seed, threads=n_threads)
    else:
        from core.encoder import model_name
        from solace.training_cli import load_data, make_holdout
        from training.pipeline import embedding_manifest, train_and_register
        from training.workbench import CONFIGS, config_data, model_for, require_item_texts, resolve_configs

        name = config_name or algorithm
        if name not in CONFIGS:
            raise click.BadParameter(f"unknown configuration {name!r}; see `solace evaluate --list-configs`",
                                     param_hint="--config")
        try:
            # the same recipe, parameters and model construction as `solace evaluate`
            cfg = resolve_configs([name], {name: parsed})[0]
        except ParamError as exc:
            raise click.BadParameter(str(exc), param_hint="'--param'") from None
        try:
            model_for(cfg, seed, n_threads)  # a blend's parts are built (and checked) before the data loads
            from storage.events import log_position

            position = log_position(services.engine)  # events stored later are folded in by serving
            wb = load_data(ctx, data_opts)
            try:
                require_item_texts(cfg, wb)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--config" if config_name else "--algorithm") from None
            if data_opts.get("item_text") and not cfg.needs_text:
                using = ", ".join(n for n, c in CONFIGS.items() if c.needs_text and c.algorithm != "content")
                click.echo(f"note: {name} does not learn from item texts (they are stored with the version for "
                           f"serving's content features); configurations that do: {using}", err=True)
            data = config_data(wb, cfg, wb.data.interactions, seed)
            # without --split: the pipeline's own seeded random holdout, which tolerates data too small to split
            holdout = make_holdout(wb, split_kind, seed) if split_kind else None
            outcome = train_and_register(
                data, cfg.algorithm, {}, services.registry, random_state=seed,
                threads=n_threads, progress=click.echo,
                extra={"data_source": wb.source, "configuration": name, "data_fingerprint_full": wb.fingerprint(),
                       "event_log_position": position,
                       # how the data were read (files, event weights, decay), to train it again
                       "data_options": {k: [str(x) for x in v] if isinstance(v, tuple) else
                                        v if isinstance(v, int | float) else str(v) for k, v in given.items()},
                       **embedding_manifest(model_name(settings.embedding_model), wb.data.item_embeddings)},
                model_factory=lambda: model_for(cfg, seed, n_threads), holdout=holdout,
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"model version {outcome.version.version}")
    for metric, value in outcome.metrics.items():
        click.echo(f"  {metric:>14}: {value:.4f}")
    if do_publish:
        _publish(ctx, outcome.version.version, "publish", publish_tenant)
        click.echo("published and active")


def _publish(ctx: click.Context, version: str, action: str, tenant: str | None) -> None:
    """Publish and say what serving will (and will not) be able to use."""
    from solace.jobs import publish

    try:
        counts = publish(_services(ctx), version, action=action,
                         tenant=_check_tenant(tenant) if tenant is not None else None)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"published {version}: {counts['items']} items, {counts['users']} user vectors")
    if counts["users_not_published"]:
        click.echo(f"note: {counts['users_not_published']} user vectors not published: the version was trained "
                   "on files whose user ids name no tenant; give --tenant T to publish them for tenant T "
                   "(otherwise serving folds users in from their events)", err=True)
    if counts["servable_items"] < counts["items"]:
        click.echo(f"warning: {counts['items'] - counts['servable_items']} of the version's {counts['items']} items "
                   "are not approved catalog resources; serving only ever returns approved resources", err=True)


@cli.command(name="publish")
@click.argument("version")
@PUBLISH_TENANT_OPTION
@click.pass_context
def publish_cmd(ctx: click.Context, version: str, publish_tenant: str | None) -> None:
    """Write VERSION's vectors to Redis and make it the active model."""
    _publish(ctx, version, "publish", publish_tenant)


@cli.command(name="restore")
@click.pass_context
def restore_cmd(ctx: click.Context) -> None:
    """Rebuild Redis from SQL and the model registry (serving does this by itself when it
    finds Redis emptied; run it after restoring Redis from an old snapshot)."""
    from serving.recovery import restore_redis

    restore_redis(_services(ctx), say=click.echo)


# --------------------------------------------------------------------------- models
@cli.group()
def models() -> None:
    """List, inspect, promote and roll back model versions."""


@models.command(name="list")
@click.pass_context
def models_list(ctx: click.Context) -> None:
    """Every model version, newest first: * marks the active one."""
    services = _services(ctx)
    active = services.registry.active()
    versions = list(reversed(services.registry.list()))  # the registry lists oldest first
    if not versions:
        click.echo("no model versions yet: run `solace train` or `solace quickstart`")
        return
    for mv in versions:
        m = mv.manifest
        mark = "*" if mv.version == active else " "
        p10 = m.get("metrics", {}).get("precision@10")
        p10s = f"{p10:.4f}" if isinstance(p10, float) else "-"
        # the named configuration when it was trained with --config (a blend's parts are in `show`)
        kind = m.get("configuration") or m["algorithm"]
        click.echo(f"{mark} {mv.version:<40} {kind:<24} {m['created_at'][:19]}  precision@10={p10s}")


@models.command(name="show")
@click.argument("version")
@click.pass_context
def models_show(ctx: click.Context, version: str) -> None:
    """A version's manifest: algorithm, configuration, parameters, data, holdout and metrics."""
    click.echo(json.dumps(_services(ctx).registry.get(version).manifest, indent=2))


def _data_source(version: Any) -> str:
    """What a version's holdout metrics were measured on: Solace's event log (however it
    was trained; it grows between versions, so its contents are not compared), or the
    files or MovieLens folder it names together with the fingerprint of what they held;
    and which kind of holdout the metrics come from (random and time splits differ)."""
    from storage.registry import trained_on_store

    manifest = version.manifest
    # versions from before the holdout was recorded were all measured on the random one
    holdout = f"{manifest.get('holdout', {}).get('split', 'random')} holdout"
    if trained_on_store(version):
        return f"Solace's event log ({holdout})"
    fingerprint = manifest.get("data_fingerprint_full") or manifest.get("data_fingerprint")
    return f"{manifest.get('data_source')} data (fingerprint {fingerprint}, {holdout})"


@models.command(name="promote")
@click.argument("version")
@click.option("--require-metric", default=None, help="e.g. precision@10: refuse if the candidate is worse than the active model.")
@PUBLISH_TENANT_OPTION
@click.pass_context
def models_promote(ctx: click.Context, version: str, require_metric: str | None, publish_tenant: str | None) -> None:
    """Publish VERSION and make it active (optionally guarded by a metric)."""
    services = _services(ctx)
    candidate = services.registry.get(version)
    active = services.registry.active()
    if require_metric and active:
        incumbent = services.registry.get(active)
        sources = [_data_source(v) for v in (candidate, incumbent)]
        if sources[0] != sources[1]:
            raise click.ClickException(
                f"{version} was measured on {sources[0]} and the active {active} on {sources[1]}: their "
                f"{require_metric} cannot be compared; not promoted (promote without --require-metric to override)"
            )
        current = incumbent.manifest.get("metrics", {}).get(require_metric)
        new = candidate.manifest.get("metrics", {}).get(require_metric)
        if new is None:
            known = ", ".join(sorted(candidate.manifest.get("metrics", {}))) or "none"
            raise click.ClickException(f"{version} has no metric {require_metric} (it has: {known})")
        if current is not None and new < current:
            raise click.ClickException(
                f"{version} has {require_metric}={new:.4f}, below the active {active} ({current:.4f}); not promoted"
            )
    _publish(ctx, version, "promote", publish_tenant)
    click.echo(f"{version} is now active")


@models.command(name="rollback")
@click.pass_context
def models_rollback(ctx: click.Context) -> None:
    """Make the version that was active before the current one active again.

    Rollback walks back through the activation history: after publishing A, then B,
    then C, one rollback makes B active and a second one A (rolling back twice never
    goes forward to C again). A publish or promote after a rollback is a new step:
    the next rollback undoes it. Republishing the active version is not a step, and
    versions deleted since (by retention) are skipped. With nothing earlier, it is an
    error and the active version stays.
    """
    from solace.jobs import publish

    services = _services(ctx)
    previous = services.registry.previous()
    if previous is None:
        raise click.ClickException("no earlier activation to roll back to (see `solace models rollback --help`)")
    publish(services, previous, action="rollback")
    click.echo(f"rolled back to {previous}")


# --------------------------------------------------------------------------- keys
@cli.group()
def keys() -> None:
    """Create, list and revoke API keys."""


TENANT_OPTION = click.option("--tenant", required=True, help="The platform (tenant) id, e.g. acme.")


def _check_tenant(tenant: str) -> str:
    import re

    from core.ids import TENANT_PATTERN

    if not re.match(TENANT_PATTERN, tenant):
        raise click.BadParameter("lowercase letters, digits, '-' and '_' (max 64)", param_hint="--tenant")
    return tenant


@keys.command(name="create")
@TENANT_OPTION
@click.option("--role", type=click.Choice(["platform", "editor", "admin"]), default="platform", show_default=True)
@click.option("--reviewer", is_flag=True, help="An editor key that may approve resources.")
@click.option("--global", "global_staff", is_flag=True,
              help="An editor key of global staff: may change the global catalog (else only its tenant's own resources).")
@click.pass_context
def keys_create(ctx: click.Context, tenant: str, role: str, reviewer: bool, global_staff: bool) -> None:
    """Create a key; it is printed once and stored only as a hash."""
    from storage.api_keys import Role

    if reviewer and role == "platform":
        raise click.BadParameter("only editor or admin keys can hold the reviewer right", param_hint="--reviewer")
    if global_staff and role == "platform":
        raise click.BadParameter("only editor or admin keys can be global staff", param_hint="--global")
    key, secret = _services(ctx).api_keys.create(_check_tenant(tenant), Role(role), reviewer, global_staff)
    click.echo(secret)
    click.echo(f"key id {key.key_id} ({key.role.value}, tenant {key.tenant}); store it now: it is not shown again", err=True)


@keys.command(name="list")
@click.option("--tenant", default=None)
@click.pass_context
def keys_list(ctx: click.Context, tenant: str | None) -> None:
    for key in _services(ctx).api_keys.list(tenant):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(f"{key.key_id}  {key.tenant:<20} {key.role.value:<9} {key.created_at:%Y-%m-%d %H:%M}  {state}")


@keys.command(name="revoke")
@TENANT_OPTION
@click.argument("key_id")
@click.pass_context
def keys_revoke(ctx: click.Context, tenant: str, key_id: str) -> None:
    if not _services(ctx).api_keys.revoke(tenant, key_id):
        raise click.ClickException(f"no active key {key_id} for tenant {tenant}")
    click.echo(f"revoked {key_id}")


# --------------------------------------------------------------------------- tenants
@cli.group()
def tenants() -> None:
    """Per-tenant settings (a stricter safety policy)."""


@tenants.command(name="policy")
@TENANT_OPTION
@click.option("--max-topic-share", type=float, default=None)
@click.option("--max-heavy-share", type=float, default=None)
@click.option("--exclude-topic", "excluded", multiple=True, help="A topic never served to this tenant's users (repeatable).")
@click.option("--treat-all-as-minors/--no-treat-all-as-minors", default=None)
@click.pass_context
def tenants_policy(ctx: click.Context, tenant: str, max_topic_share: float | None, max_heavy_share: float | None,
                   excluded: tuple[str, ...], treat_all_as_minors: bool | None) -> None:
    """Show the tenant's policy, or change the given settings (stricter only)."""
    from storage.tenants import TenantPolicy, TenantPolicyStore

    s = _services(ctx)
    store = TenantPolicyStore(s.engine, s.redis, s.keys)
    policy = store.get(_check_tenant(tenant)).model_dump(mode="json")
    changes = {"max_topic_share": max_topic_share, "max_heavy_share": max_heavy_share,
               "treat_all_as_minors": treat_all_as_minors, "excluded_topics": list(excluded) or None}
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes:
        try:
            new = TenantPolicy.model_validate({**policy, **changes})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise click.BadParameter(err["msg"], param_hint="--" + str(err["loc"][0]).replace("_", "-")) from None
        store.put(tenant, new)
        policy = new.model_dump(mode="json")
    click.echo(json.dumps(policy, indent=2))


# --------------------------------------------------------------------------- events
@cli.group()
def events() -> None:
    """The event log (retention)."""


@events.command(name="purge")
@click.option("--older-than-days", type=click.IntRange(min=1), default=None,
              help="Default: SOLACE_EVENT_RETENTION_DAYS (365).")
@click.pass_context
def events_purge(ctx: click.Context, older_than_days: int | None) -> None:
    """Delete events older than the retention period, the per-user state derived from them,
    and the inactive model versions trained on the event log before the cutoff (the active
    one is kept, with a warning to retrain)."""
    from collections import defaultdict
    from datetime import UTC, datetime, timedelta

    from solace.jobs import prune_versions_past_retention
    from storage.user_state import sync_user_state

    s = _services(ctx)
    days = older_than_days or s.settings.event_retention_days
    cutoff = datetime.now(UTC) - timedelta(days=days)
    touched: dict[str, list[str]] = defaultdict(list)
    for tenant, user in s.events.users_with_events_before(cutoff):
        touched[tenant].append(user)
    removed = s.events.purge_before(cutoff)
    # The live state derived from purged events (seen sets, interactions) is rebuilt from
    # what remains, so retention reaches Redis too.
    for tenant, users in touched.items():
        for start in range(0, len(users), 1000):
            chunk = users[start : start + 1000]
            sync_user_state(s.redis, s.keys, tenant, s.events.events_of(tenant, chunk), {}, also_users=chunk)
    click.echo(f"purged {removed} events older than {days} days; rebuilt the state of "
               f"{sum(len(u) for u in touched.values())} users")
    deleted, stale_active = prune_versions_past_retention(s, cutoff)
    click.echo(f"deleted {len(deleted)} model versions trained before the cutoff")
    if stale_active:
        click.echo(f"warning: the active model {stale_active} was trained before the cutoff, on events now "
                   "purged; it is kept so serving goes on: retrain and publish", err=True)


# --------------------------------------------------------------------------- users
@cli.group()
def users() -> None:
    """Manage users' data (erasure)."""


@users.command(name="erase")
@click.argument("user_id")
@TENANT_OPTION
@click.pass_context
def users_erase(ctx: click.Context, user_id: str, tenant: str) -> None:
    """Remove every trace of USER_ID of one tenant (SQL and Redis)."""
    from core.ids import opaque_user_id
    from storage.erasure import erase_user

    try:
        opaque_user_id(user_id)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="USER_ID") from None
    s = _services(ctx)
    report = erase_user(s.settings, s.engine, s.redis, s.keys, _check_tenant(tenant), user_id)
    click.echo(f"erased: {report.events} events, {report.profiles} profile, {report.redis_entries} Redis entries, "
               f"vectors in {report.model_versions} stored model versions")


# --------------------------------------------------------------------------- safety
from solace.safety_cli import safety  # noqa: E402

cli.add_command(safety)


from solace.catalog_cli import catalog  # noqa: E402

cli.add_command(catalog)

from solace.training_cli import evaluate as evaluate_cmd  # noqa: E402
from solace.training_cli import tune as tune_cmd  # noqa: E402

cli.add_command(evaluate_cmd)
cli.add_command(tune_cmd)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one place that turns failures into a line
        click.echo(f"Error: {error_message(exc)}", err=True)
        if _debug_requested():
            traceback.print_exc()
        sys.exit(1)


def error_message(exc: BaseException) -> str:
    """One line for an unexpected failure, in the form click gives its own errors.

    ``str(KeyError("no model version 'x'"))`` is the repr of its argument, quotes and all,
    so a lookup error shows its argument instead; an exception without a message (a
    library's bare ``assert``) is named by its type, with where to find more.
    """
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        text = exc.args[0]
    else:
        text = str(exc)
    text = " ".join(text.split())  # one line, whatever the library's message looked like
    import redis

    if isinstance(exc, redis.ConnectionError):
        text += " (Redis: check SOLACE_REDIS_URL, or unset it for the embedded server)"
    if not text:
        text = f"{type(exc).__name__} (no message; SOLACE_LOG_LEVEL=DEBUG shows the traceback)"
    return text


def _debug_requested() -> bool:
    try:
        return load_settings().log_level.upper() == "DEBUG"
    except Exception:  # noqa: BLE001
        return False


if __name__ == "__main__":
    main()
