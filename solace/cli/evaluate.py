"""``solace evaluate`` and ``solace tune``: the data scientist's workbench on the command line.

Both take the same DATA OPTIONS as ``solace train`` (``solace.cli.data``). Errors are one
line and a non-zero exit, through click's exceptions.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from solace.cli.data import (
    _data_args, _make_split, _overrides, _settings, _split_options, _threads, _writable_file, data_options,
    load_data,
)

# ----------------------------------------------------------------------------- evaluate
@click.command()
@data_options
@_split_options
@click.option("--compare", default=None, metavar="NAMES",
              help="Comma-separated configurations (see --list-configs); default: lightfm-ref,als-ref,popularity,lightfm,hybrid.")
@click.option("--set", "sets", multiple=True, metavar="CONFIG.KEY=VALUE",
              help="Override a parameter of one configuration, e.g. hybrid.epochs=30 (repeatable).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), callback=_writable_file,
              help="Write metrics as JSON.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), callback=_writable_file,
              help="Write a self-contained HTML report.")
@click.option("--list-configs", is_flag=True, help="List the named configurations and exit.")
@click.option("--baseline", default=None, metavar="NAME",
              help="Also print every configuration's relative gain over NAME (one of --compare), "
                   "computed run by run.")
@click.option("--repeats", type=click.IntRange(1, 50), default=1, show_default=True,
              help="Run N times with seeds SEED..SEED+N-1 (new random splits; a predefined split keeps "
                   "its files and only model seeds change); report mean and standard deviation.")
@click.option("--budget", "budget_minutes", type=click.FloatRange(min=0, min_open=True), default=15.0,
              show_default=True, help="With `auto` in --compare: minutes its search may take (per repeat).")
@click.option("--metric", "auto_metric", default="ndcg@10", show_default=True,
              help="With `auto` in --compare: the validation metric its search maximises.")
@click.option("--validation", type=click.Choice(["auto", "random", "time"]), default="auto", show_default=True,
              help="With `auto` in --compare: how its validation is carved from the training part "
                   "(auto: by time under --split time, else random).")
@click.pass_context
def evaluate(ctx: click.Context, compare: str | None, sets: tuple[str, ...], json_out: Path | None,
             html_out: Path | None, list_configs: bool, baseline: str | None, repeats: int, budget_minutes: float,
             auto_metric: str, validation: str, split_kind: str | None, test_file: Path | None, test_share: float, k: int,
             seed: int | None, threads: int | None, **data_opts: Any) -> None:
    """Compare configurations on one split: one table, optional JSON and HTML report.

    `auto` in --compare runs `solace train --auto`'s search on the split's training part
    (validation carved from it; the test part is scored once, after the choice)."""
    from training.models import ParamError
    from training.report import gain_text, text_table, write_html, write_json
    from training.configs import CONFIGS, DEFAULT_COMPARE, resolve_configs, text_hint
    from training.workbench import gains_over, metric_names, summarise_repeats
    from training.workbench import compare as run_compare

    if list_configs:
        width = max(len(name) for name in CONFIGS)
        for cfg in CONFIGS.values():
            click.echo(f"{cfg.name:<{width}}  {cfg.algorithm:<10} {cfg.description}")
        return
    names = [n.strip() for n in compare.split(",") if n.strip()] if compare else list(DEFAULT_COMPARE)
    with_auto = AUTO in names
    if with_auto:
        from training.auto import parse_metric

        try:
            parse_metric(auto_metric)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--metric") from None
    try:
        configs = resolve_configs([n for n in names if n != AUTO], _overrides(sets))
    except ParamError as exc:
        raise click.BadParameter(exc.describe(f"{exc.config}."), param_hint="'--set'") from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--compare") from None
    if baseline is not None and baseline not in names:
        raise click.BadParameter(f"{baseline!r} is not one of the compared configurations", param_hint="--baseline")
    on_spark = [c for c in configs if c.engine == "spark"]
    if on_spark:
        from training.models.spark_als import spark_problem

        problem = spark_problem()
        if problem:
            raise click.ClickException(f"{', '.join(c.name for c in on_spark)}: {problem}")
    seed = _settings(ctx).random_state if seed is None else seed
    n_threads = _threads(ctx, threads)
    wb = load_data(ctx, data_opts)
    missing_text = [c.name for c in configs if c.needs_text and wb.data.item_embeddings is None]
    if missing_text:
        one = len(missing_text) == 1
        if compare is not None:  # named on purpose: say what is missing rather than guess
            raise click.BadParameter(f"{', '.join(missing_text)} need{'s' if one else ''} item texts: "
                                     f"{text_hint(wb.source)}", param_hint="--compare")
        # the default list is a suggestion: compare what these data allow
        configs = [c for c in configs if c.name not in missing_text]
        click.echo(f"note: skipped {', '.join(missing_text)} of the default comparison: "
                   f"{'it needs' if one else 'they need'} item texts; to include {'it' if one else 'them'}, "
                   f"{text_hint(wb.source)}", err=True)
        if baseline in missing_text:
            raise click.BadParameter(f"{baseline} was skipped (it needs item texts): {text_hint(wb.source)}",
                                     param_hint="--baseline")
    split = _make_split(wb, split_kind, test_file, test_share, seed)
    click.echo(f"data: {wb.source}: {wb.data.shape[0]} users, {wb.data.shape[1]} items; split {split.name}: "
               f"{split.train.nnz} train / {split.test.nnz} test interactions ({split.note})", err=True)
    for master in sorted({str(c.params.get("master", "")) for c in on_spark}):
        from training.models.spark_als import DEFAULT_MASTER, spark_session

        # started before the clock of any fit: its fit time is then Spark's work, not a JVM start
        begun = time.perf_counter()
        spark_session(master or DEFAULT_MASTER)
        click.echo(f"Spark {master or DEFAULT_MASTER} started in {time.perf_counter() - begun:.1f} s "
                   "(not counted in the fit times)", err=True)
    started = time.perf_counter()

    def done(result: Any) -> None:
        click.echo(f"  {result.config.name}: fitted in {result.fit_seconds:.1f} s", err=True)

    runs = []
    searches: list[dict[str, Any]] = []
    try:
        for r in range(repeats):
            if r:
                split = _make_split(wb, split_kind, test_file, test_share, seed + r)
                click.echo(f"repeat {r + 1}/{repeats}: seed {seed + r}", err=True)
            results = run_compare(wb, split, configs, k=k, random_state=seed + r, threads=n_threads, on_done=done)
            if with_auto:
                auto_result, search = _run_auto(wb, split, k, seed + r, n_threads, budget_minutes, auto_metric,
                                                validation)
                done(auto_result)
                searches.append(search)
                results.insert(names.index(AUTO), auto_result)  # where it was named
            runs.append(results)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    results = runs[0] if repeats == 1 else summarise_repeats(runs)
    metrics = metric_names(k)
    if repeats > 1:
        click.echo(f"mean over {repeats} repeats (seeds {seed}..{seed + repeats - 1})")
    click.echo(text_table(results, metrics))
    if repeats > 1:
        click.echo(f"\nstandard deviation over {repeats} repeats")
        click.echo(text_table(results, [f"{m}_sd" for m in metrics]))
    gains = None
    if baseline is not None:
        ranking = [m for m in metrics if m not in ("coverage", "diversity")]
        gains = gains_over(runs, baseline, ranking)
        click.echo(f"\nrelative gain over {baseline}" + (f", mean ± sd over {repeats} repeats" if repeats > 1 else ""))
        for name, entry in gains.items():
            click.echo(f"  {name}: " + ", ".join(f"{m} {gain_text(entry, m)}" for m in ranking))
    meta = {
        "data": wb.source, "data_fingerprint": wb.fingerprint(), "users": wb.data.shape[0],
        "items": wb.data.shape[1], "split": split.name, "split_note": split.note,
        "train_interactions": split.train.nnz, "test_interactions": split.test.nnz, "k": k, "seed": seed,
        "threads": n_threads, "repeats": repeats, "seconds": round(time.perf_counter() - started, 1),
        "command": "solace " + " ".join(sys.argv[1:]) if sys.argv and "solace" in sys.argv[0] else "solace evaluate",
    }
    if gains is not None:
        meta["baseline"] = baseline
        meta["gains"] = gains
    if searches:
        meta["auto_searches"] = searches
    if repeats > 1:
        from training.report import metrics_json

        meta["per_repeat"] = [{"seed": seed + r, "metrics": metrics_json(run)} for r, run in enumerate(runs)]
    if json_out:
        write_json(json_out, results, meta)
        click.echo(f"wrote {json_out}", err=True)
    if html_out:
        write_html(html_out, results, metrics, meta)
        click.echo(f"wrote {html_out}", err=True)


# ----------------------------------------------------------------------------- auto
AUTO = "auto"


def _run_auto(wb: Any, split: Any, k: int, seed: int, threads: int, budget_minutes: float,
              metric: str, validation: str = "auto") -> tuple[Any, dict[str, Any]]:
    """`auto` as one row of the comparison: the search on ``split.train`` only, then the
    chosen model fitted on ``split.train`` and scored once on ``split.test``."""
    from training.auto import auto_search, leaderboard_text, training_timestamps
    from training.configs import ModelConfig
    from training.workbench import Result, score_model

    click.echo(f"auto: searching for {budget_minutes:g} min on the {split.name} training part "
               f"(maximising validation {metric})", err=True)
    started = time.perf_counter()
    by_time = validation == "time" or (validation == "auto" and split.name == "time")
    result = auto_search(wb, split.train, metric=metric, budget_seconds=budget_minutes * 60.0, seed=seed,
                         threads=threads, on_trial=_echo_trial,
                         timestamps=training_timestamps(wb, split.train) if by_time else None)
    click.echo(leaderboard_text(result), err=True)
    choice = result.best.choice
    model = choice.build(seed, threads).fit(choice.data(wb, split.train, seed))
    seconds = time.perf_counter() - started
    cfg = ModelConfig(AUTO, choice.algorithm, description=f"automatic choice: {choice.name}")
    return Result(cfg, score_model(model, wb, split, k), seconds), result.to_json()


def _echo_trial(trial: Any) -> None:
    score = "failed" if trial.score is None else f"{trial.score:.4f}"
    click.echo(f"  {trial.name}: {score} ({trial.seconds:.1f} s)", err=True)


# ----------------------------------------------------------------------------- tune
SEARCH_SPACES: dict[str, dict[str, tuple[str, Any]]] = {
    "lightfm": {
        "no_components": ("int", (16, 128, 16)),
        "learning_rate": ("log", (0.005, 0.1)),
        "epochs": ("int", (10, 80, 10)),
        "max_sampled": ("int", (10, 60, 10)),
        "item_alpha": ("log0", (1e-7, 1e-3)),
        "user_alpha": ("log0", (1e-7, 1e-3)),
    },
    "als": {
        "factors": ("int", (16, 128, 16)),
        "regularization": ("log", (1e-3, 100.0)),  # ~25 was best on MovieLens 100K's validation split
        "alpha": ("log", (0.5, 50.0)),
        "iterations": ("int", (5, 30, 5)),
    },
    "bpr": {
        "factors": ("int", (16, 128, 16)),
        "learning_rate": ("log", (1e-3, 0.1)),
        "regularization": ("log", (1e-4, 0.1)),
        "iterations": ("int", (50, 300, 50)),
    },
}
TEXT_SPACE = {"text_share": ("float", (0.1, 0.7))}


def _suggest(trial: Any, name: str, kind: str, bounds: Any) -> Any:
    if kind == "int":
        lo, hi, step = bounds
        return trial.suggest_int(name, lo, hi, step=step)
    if kind == "log":
        return trial.suggest_float(name, bounds[0], bounds[1], log=True)
    if kind == "log0":  # regularisation: often best at zero, else on a log scale
        return 0.0 if trial.suggest_categorical(f"{name}_on", [False, True]) is False else \
            trial.suggest_float(name, bounds[0], bounds[1], log=True)
    return trial.suggest_float(name, bounds[0], bounds[1])


@click.command()
@data_options
@_split_options
@click.option("--config", "config_name", default="hybrid", show_default=True,
              help="The named configuration whose parameters are searched (lightfm, als or bpr based).")
@click.option("--metric", default=None, help="Metric to maximise (default precision@K).")
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--timeout", "timeout_s", type=click.IntRange(min=1), default=None, help="Stop after this many seconds.")
@click.option("--folds", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Score each trial on the mean of N validation holdouts (seeds SEED+1..SEED+N): "
                   "slower, but a choice then has to hold on more than one draw.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), callback=_writable_file,
              help="Write the best parameters and all trials.")
@click.pass_context
def tune(ctx: click.Context, config_name: str, metric: str | None, trials: int, timeout_s: int | None,
         folds: int, json_out: Path | None, split_kind: str | None, test_file: Path | None, test_share: float,
         k: int, seed: int | None, threads: int | None, **data_opts: Any) -> None:
    """Search a configuration's parameters with optuna (TPE, seeded).

    Trials are scored on a validation split carved out of the training part (a per-user
    random holdout), never on the test part: the test metrics of the best parameters are
    printed once at the end, so tuning cannot overfit the figure it reports.
    """
    from statistics import fmean

    import optuna

    from training.splits import random_split
    from training.configs import CONFIGS, require_item_texts, resolve_configs
    from training.workbench import Split, metric_names, run_config

    if config_name not in CONFIGS:
        raise click.BadParameter(f"unknown configuration {config_name!r}; choose from {', '.join(CONFIGS)}", param_hint="--config")
    base = CONFIGS[config_name]
    space = dict(SEARCH_SPACES.get(base.algorithm, {}))
    if not space:
        raise click.BadParameter(f"{config_name} ({base.algorithm}) has no parameters to tune", param_hint="--config")
    if "text-pca" in base.item_parts:
        space.update(TEXT_SPACE)
    metric = metric or f"precision@{k}"
    if metric not in metric_names(k):
        raise click.BadParameter(f"{metric!r}; choose from {', '.join(metric_names(k))}", param_hint="--metric")
    seed = _settings(ctx).random_state if seed is None else seed
    n_threads = _threads(ctx, threads)
    wb = load_data(ctx, data_opts)
    try:
        require_item_texts(base, wb)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--config") from None
    outer = _make_split(wb, split_kind, test_file, test_share, seed)
    validations = [
        Split(f"validation-{f + 1}", *random_split(outer.train, 0.2, seed + 1 + f),
              note="20% per-user holdout of the training part")
        for f in range(folds)
    ]
    click.echo(f"tuning {config_name} on {wb.source}: {trials} trials, maximising {metric} on "
               f"{folds} validation split{'s' if folds > 1 else ''} of the {outer.name} training part", err=True)

    def objective(trial: Any) -> float:
        params = {name: _suggest(trial, name, kind, bounds) for name, (kind, bounds) in space.items()}
        cfg = resolve_configs([config_name], {config_name: params})[0]
        values = [run_config(wb, v, cfg, k, seed, n_threads).metrics.get(metric) for v in validations]
        value = None if any(v is None for v in values) else fmean(values)  # type: ignore[arg-type]  # no None left once the any() is false
        click.echo(f"  trial {trial.number}: {metric}={value if value is None else round(value, 4)} {params}", err=True)
        return float("-inf") if value is None else value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials, timeout=timeout_s)
    best = {n: v for n, v in study.best_params.items() if not n.endswith("_on")}
    for name, (kind, _b) in space.items():
        if kind == "log0" and not study.best_params.get(f"{name}_on", True):
            best[name] = 0.0
    final = run_config(wb, outer, resolve_configs([config_name], {config_name: best})[0], k, seed, n_threads)
    click.echo(f"best validation {metric}: {study.best_value:.4f}")
    click.echo(f"best parameters: {json.dumps(best)}")
    click.echo("test metrics with them: " + ", ".join(
        f"{m}={v:.4f}" for m, v in final.metrics.items() if v is not None))
    click.echo("use them: " + " ".join(f"--set {config_name}.{n}={json.dumps(v)}" for n, v in best.items()))
    # evaluate takes --set CONFIG.KEY=VALUE, train takes --param KEY=VALUE: print both
    click.echo("train with them: " + " ".join([
        "solace train", "--config", config_name, *(f"--param {n}={json.dumps(v)}" for n, v in best.items()),
        *_data_args(ctx, data_opts), "--seed", str(seed),
    ]))
    if json_out:
        json_out.write_text(json.dumps({
            "config": config_name, "metric": metric, "best_value": study.best_value, "best_params": best,
            "test_metrics": final.metrics, "split": outer.name, "seed": seed, "folds": folds,
            "trials": [{"number": t.number, "value": t.value, "params": t.params} for t in study.trials],
        }, indent=2, default=str) + "\n", encoding="utf-8")
        click.echo(f"wrote {json_out}", err=True)


__all__ = ["data_options", "evaluate", "load_data", "tune"]
