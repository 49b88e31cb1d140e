"""Embedding, training, publishing and the model registry."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from solace.cli.common import PUBLISH_TENANT_OPTION, check_tenant, parse_params, services_of
from solace.cli.data import data_options


@click.command()
@click.option("--item-text", "item_texts", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An item_id,text file (CSV or Parquet) to embed instead of the catalog (repeatable); "
                   "train, evaluate and tune --item-text then reuse its vectors.")
@click.pass_context
def embed(ctx: click.Context, item_texts: tuple[Path, ...]) -> None:
    """Embed approved resources (or --item-text files) whose text changed (incremental)."""
    from solace.jobs import embed_catalog, embed_item_text_files
    from training.readers import LoadError

    if item_texts:
        try:
            report = embed_item_text_files(services_of(ctx), item_texts, progress=sys.stderr.isatty())
        except LoadError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{report.total} texts: {report.encoded} encoded, {report.reused} unchanged")
        return
    report = embed_catalog(services_of(ctx), progress=sys.stderr.isatty())
    click.echo(f"{report.total} resources: {report.encoded} encoded, {report.reused} unchanged")


@click.command()
@click.option("--algorithm", type=click.Choice(["lightfm", "als", "bpr", "popularity", "content", "ease"]),
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
@click.option("--auto", "auto", is_flag=True,
              help="Choose the algorithm and its parameters automatically: search every family on validation "
                   "data carved from the training part, within --budget, and train the best.")
@click.option("--budget", "budget_minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="With --auto: minutes the search may take (default 15).")
@click.option("--metric", "auto_metric", default=None, help="With --auto: the validation metric to maximise (default ndcg@10).")
@click.option("--validation", type=click.Choice(["random", "time"]), default=None,
              help="With --auto: carve validation by time (each user's latest 20%) or at random "
                   "(default: time with --split time, else random).")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="Where to fit: local (this process) or spark (ALS on Spark MLlib, for data past one machine; "
                   "needs pip install -e '.[spark]' and Java 17; docs/spark.md).")
@click.option("--spark-master", default=None, metavar="URL",
              help="With --engine spark: the Spark master (default local[*]; e.g. local[2], spark://HOST:7077).")
@PUBLISH_TENANT_OPTION
@data_options
@click.pass_context
def train(ctx: click.Context, algorithm: str, config_name: str | None, params: tuple[str, ...],
          split_kind: str | None, seed: int | None, threads: int | None, do_publish: bool, auto: bool,
          budget_minutes: float | None, auto_metric: str | None, validation: str | None, engine: str,
          spark_master: str | None, publish_tenant: str | None, **data_opts: Any) -> None:
    """Train a model (Solace's event log and catalog, or DATA OPTIONS); saves a new model version.

    Everything the user typed (parameters, tenant, engine) is checked before any data is
    loaded: a typo should cost a second, not a training run.
    """

    services = services_of(ctx)
    settings = services.settings
    seed = settings.random_state if seed is None else seed
    n_threads = settings.threads if threads is None else threads
    on_files = bool(data_opts.get("interactions") or data_opts.get("movielens"))
    source = ctx.get_parameter_source("algorithm")
    if not auto and (budget_minutes is not None or auto_metric is not None or validation is not None):
        raise click.BadParameter("only used with --auto", param_hint="'--budget' / '--metric' / '--validation'")
    if auto and (config_name is not None or params or source is not click.core.ParameterSource.DEFAULT):
        raise click.BadParameter("--auto chooses the algorithm and its parameters: drop --algorithm, --config "
                                 "and --param", param_hint="'--auto'")
    if publish_tenant is not None:
        if not do_publish:
            raise click.BadParameter("only used with --publish: add --publish, or drop --tenant",
                                     param_hint="'--tenant'")
        check_tenant(publish_tenant)
        if not on_files:
            raise click.BadParameter("a version trained on Solace's event log is published without a tenant "
                                     "(its users already carry theirs)", param_hint="'--tenant'")
    given = {k: v for k, v in data_opts.items() if v not in (None, ())}
    parsed = parse_params(params)
    engine = _engine_of(ctx, engine, algorithm, config_name, auto, spark_master)
    if engine == "spark":
        algorithm = "als"
        if spark_master is not None:
            parsed["master"] = spark_master
    if auto:
        outcome = _train_auto(ctx, data_opts, given, split_kind, seed, n_threads,
                              60.0 * (15.0 if budget_minutes is None else budget_minutes), auto_metric or "ndcg@10",
                              validation or ("time" if split_kind == "time" else "random"))
    else:
        outcome = _train_configuration(ctx, config_name or algorithm, parsed, engine, data_opts, given, split_kind,
                                       seed, n_threads, named=config_name is not None)
    click.echo(f"model version {outcome.version.version}")
    for metric, value in outcome.metrics.items():
        click.echo(f"  {metric:>14}: {value:.4f}")
    if do_publish:
        _publish(ctx, outcome.version.version, "publish", publish_tenant)
        click.echo("published and active")


def _train_configuration(ctx: click.Context, name: str, parsed: dict[str, Any], engine: str,
                         data_opts: dict[str, Any], given: dict[str, Any], split_kind: str | None, seed: int,
                         threads: int, named: bool) -> Any:
    """Plain `train` and `train --config`: one configuration (plain `--algorithm NAME` is
    the configuration of that name), built and measured exactly as `solace evaluate` does."""
    from core.encoder import model_name
    from solace.cli.data import load_data, make_holdout
    from storage.events import log_position
    from training.configs import CONFIGS, configuration, model_for, require_item_texts
    from training.models import ParamError
    from training.pipeline import ConfigCandidate, embedding_manifest, train_version

    services = services_of(ctx)
    hint = "--config" if named else "--algorithm"
    try:
        cfg = configuration(name, parsed, engine)
    except ParamError as exc:
        raise click.BadParameter(str(exc), param_hint="'--param'") from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None
    try:
        model_for(cfg, seed, threads)  # a blend's parts are built (and checked) before the data loads
        position = log_position(services.engine)  # events stored later are folded in by serving
        wb = load_data(ctx, data_opts)
        try:
            require_item_texts(cfg, wb)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=hint) from None
        if data_opts.get("item_text") and not cfg.needs_text:
            using = ", ".join(n for n, c in CONFIGS.items() if c.needs_text and c.algorithm != "content")
            click.echo(f"note: {name} does not learn from item texts (they are stored with the version for "
                       f"serving's content features); configurations that do: {using}", err=True)
        # without --split: the pipeline's own seeded random holdout, which tolerates data too small to split
        holdout = make_holdout(wb, split_kind, seed) if split_kind else None
        extra: dict[str, Any] = {"data_source": wb.source, "event_log_position": position,
                                 **embedding_manifest(model_name(services.settings.embedding_model),
                                                      wb.data.item_embeddings)}
        if named or given:  # how the data were read (files, event weights, decay), to train it again
            extra.update(configuration=name, data_fingerprint_full=wb.fingerprint(),
                         data_options={k: [str(x) for x in v] if isinstance(v, tuple) else
                                       v if isinstance(v, int | float) else str(v) for k, v in given.items()})
        return train_version(wb, ConfigCandidate(cfg), services.registry, random_state=seed, threads=threads,
                             progress=click.echo, holdout=holdout, extra=extra)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _engine_of(ctx: click.Context, engine: str, algorithm: str, config_name: str | None, auto: bool,
               spark_master: str | None) -> str:
    """The engine a `train` runs on (a Spark configuration such as spark-als implies Spark),
    refusing what it cannot train and, for Spark, a machine without PySpark or Java, all
    before any data is read."""
    from training.configs import CONFIGS

    explicit = ctx.get_parameter_source("engine") is not click.core.ParameterSource.DEFAULT
    config = CONFIGS.get(config_name) if config_name else None
    if config is not None and config.engine != "local" and not explicit:
        engine = config.engine
    if spark_master is not None and engine != "spark":
        raise click.BadParameter("only used with --engine spark", param_hint="'--spark-master'")
    if engine == "local":
        return engine
    if auto:
        raise click.BadParameter("--auto searches the local engines only: drop --engine spark", param_hint="'--auto'")
    if ctx.get_parameter_source("algorithm") is not click.core.ParameterSource.DEFAULT and algorithm != "als" \
            and config_name is None:
        raise click.BadParameter(f"the spark engine trains als only, not {algorithm}", param_hint="'--algorithm'")
    from training.models.spark_als import spark_problem

    problem = spark_problem()
    if problem:
        raise click.ClickException(problem)
    return engine


def _train_auto(ctx: click.Context, data_opts: dict[str, Any], given: dict[str, Any], split_kind: str | None,
                seed: int, threads: int, budget_seconds: float, metric: str, validation: str = "random") -> Any:
    """`train --auto`: the search runs on the holdout's training part (its validation carved
    from that part), the choice is measured once on the holdout, then refit on all data; the
    manifest records the whole search."""
    from core.encoder import model_name
    from solace.cli.data import load_data, make_holdout
    from storage.events import log_position
    from training.auto import auto_search, leaderboard_text, parse_metric, training_timestamps
    from training.pipeline import embedding_manifest, train_version

    services = services_of(ctx)
    try:
        parse_metric(metric)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--metric'") from None
    position = log_position(services.engine)  # events stored later are folded in by serving
    wb = load_data(ctx, data_opts)
    holdout = make_holdout(wb, split_kind or "random", seed)
    click.echo(f"searching for {budget_seconds / 60:g} min on the {holdout.name} holdout's training part "
               f"({holdout.train.nnz} interactions), maximising validation {metric}")

    def say(trial: Any) -> None:
        score = "failed" if trial.score is None else f"{trial.score:.4f}"
        click.echo(f"  {trial.name}: {score} ({trial.seconds:.1f} s)")

    try:
        result = auto_search(wb, holdout.train, metric=metric, budget_seconds=budget_seconds, seed=seed,
                             threads=threads, on_trial=say,
                             timestamps=training_timestamps(wb, holdout.train) if validation == "time" else None)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(leaderboard_text(result))
    choice = result.best.choice
    click.echo(f"chosen: {choice.name} (validation {metric} {result.best.score:.4f}; {result.stopped})")
    try:
        return train_version(
            wb, choice, services.registry, random_state=seed, threads=threads, progress=click.echo, holdout=holdout,
            extra={"data_source": wb.source, "configuration": "auto", "data_fingerprint_full": wb.fingerprint(),
                   "event_log_position": position, "auto_search": result.to_json(),
                   "data_options": {k: [str(x) for x in v] if isinstance(v, tuple) else
                                    v if isinstance(v, int | float) else str(v) for k, v in given.items()},
                   **embedding_manifest(model_name(services.settings.embedding_model), wb.data.item_embeddings)},
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _publish(ctx: click.Context, version: str, action: str, tenant: str | None) -> None:
    """Publish and say what serving will (and will not) be able to use."""
    from solace.jobs import publish

    try:
        counts = publish(services_of(ctx), version, action=action,
                         tenant=check_tenant(tenant) if tenant is not None else None)
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


@click.command(name="publish")
@click.argument("version")
@PUBLISH_TENANT_OPTION
@click.pass_context
def publish_cmd(ctx: click.Context, version: str, publish_tenant: str | None) -> None:
    """Write VERSION's vectors to Redis and make it the active model."""
    _publish(ctx, version, "publish", publish_tenant)


# --------------------------------------------------------------------------- models
@click.group()
def models() -> None:
    """List, inspect, promote and roll back model versions."""


@models.command(name="list")
@click.pass_context
def models_list(ctx: click.Context) -> None:
    """Every model version, newest first: * marks the active one."""
    services = services_of(ctx)
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
        if isinstance(m.get("engine"), dict):  # fitted elsewhere than in this process (Spark)
            kind = f"{kind} ({m['engine'].get('name')})"
        click.echo(f"{mark} {mv.version:<40} {kind:<24} {m['created_at'][:19]}  precision@10={p10s}")


@models.command(name="show")
@click.argument("version")
@click.pass_context
def models_show(ctx: click.Context, version: str) -> None:
    """A version's manifest: algorithm, configuration, parameters, data, holdout and metrics."""
    click.echo(json.dumps(services_of(ctx).registry.get(version).manifest, indent=2))


@models.command(name="promote")
@click.argument("version")
@click.option("--require-metric", default=None, help="e.g. precision@10: refuse if the candidate is worse than the active model.")
@PUBLISH_TENANT_OPTION
@click.pass_context
def models_promote(ctx: click.Context, version: str, require_metric: str | None, publish_tenant: str | None) -> None:
    """Publish VERSION and make it active (optionally guarded by a metric)."""
    from serving.activation import promotion_refusal

    services = services_of(ctx)
    services.registry.get(version)
    if require_metric:
        # the same guard as the console's models page (serving.activation)
        refusal = promotion_refusal(services.registry, version, require_metric)
        if refusal:
            raise click.ClickException(refusal)
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
    from serving.activation import PromotionRefused, rollback

    services = services_of(ctx)
    try:
        previous = rollback(services, services.catalog)
    except PromotionRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"rolled back to {previous}")
