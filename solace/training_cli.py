"""``solace evaluate`` and ``solace tune``: the data scientist's workbench on the command line.

Both take the same DATA OPTIONS as ``solace train``: files in PRODUCT.md's formats,
``--movielens DIR``, or nothing (Solace's own event log and catalog). Errors are one line
and a non-zero exit, through click's exceptions.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from training.data_io import LoadError, WorkbenchData
from training.dataset import ITEM_IDENTITY_PREFIX, USER_IDENTITY_PREFIX

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# ----------------------------------------------------------------------------- data options
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def data_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The DATA OPTIONS shared by train, evaluate and tune."""
    options = [
        click.option("--interactions", type=_FILE, help="user_id,item_id[,weight|event][,timestamp] (CSV or Parquet)."),
        click.option("--item-text", type=_FILE, help="item_id,text: embedded with the configured encoder (cached per text)."),
        click.option("--item-features", type=_FILE, help="item_id,feature[,weight] (long format)."),
        click.option("--user-features", type=_FILE, help="user_id,feature[,weight] (long format)."),
        click.option("--movielens", type=click.Path(exists=True, file_okay=False, path_type=Path),
                     help="A GroupLens MovieLens 100K folder (u.data, u.item, u.user, ua.base, ua.test)."),
        click.option("--plots", type=_FILE, help="MovieLens plot texts (items_info.json); default: ../ml-100k-plots next to DIR."),
        click.option("--event-weight", "event_weights", multiple=True, metavar="TYPE=W",
                     help="Confidence of an event type, e.g. like=5 (repeatable; negative = never a positive)."),
        click.option("--half-life-days", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Time decay of interaction confidence (needs timestamps)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _event_weights(pairs: tuple[str, ...]) -> dict[str, float] | None:
    if not pairs:
        return None
    from core.events import DEFAULT_EVENT_WEIGHTS

    out = dict(DEFAULT_EVENT_WEIGHTS)
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        try:
            out[name.strip()] = float(raw)
        except ValueError:
            raise click.BadParameter(f"{pair!r}: use TYPE=NUMBER", param_hint="--event-weight") from None
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r}: use TYPE=NUMBER", param_hint="--event-weight")
    for kind in ("dismiss", "report"):
        if out.get(kind, -1.0) >= 0:
            raise click.BadParameter(f"{kind} is a negative signal: its weight must be below 0", param_hint="--event-weight")
    return out


def _load_failure(exc: LoadError) -> click.ClickException:
    """The one-line message shows the first five problems; with more, the whole list goes
    to ``$SOLACE_HOME/load-problems.txt`` so a data scientist can fix them all in one pass."""
    if len(exc.problems) <= 5:
        return click.ClickException(str(exc))
    home = click.get_current_context().ensure_object(dict)["services"].settings.home
    report = home / "load-problems.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("".join(f"{p}\n" for p in exc.problems), encoding="utf-8")
    return click.ClickException(f"{exc} (all {len(exc.problems)} listed in {report})")


def load_data(ctx: click.Context, opts: dict[str, Any], need_text: bool = False) -> WorkbenchData:
    """Build the dataset the options name; a bad file is one line with file, line and reason."""
    services = ctx.ensure_object(dict)["services"]
    settings = services.settings
    cache = settings.cache_dir
    threads = settings.threads
    side = [k for k in ("item_text", "item_features", "user_features") if opts.get(k)]
    weights = _event_weights(opts.get("event_weights") or ())
    named = [pair.partition("=")[0].strip() for pair in opts.get("event_weights") or ()]
    try:
        if opts.get("movielens") and opts.get("interactions"):
            raise click.BadParameter("give either --movielens or --interactions, not both", param_hint="--movielens")
        if side and not opts.get("interactions"):
            raise click.BadParameter(f"--{side[0].replace('_', '-')} needs --interactions FILE", param_hint="--interactions")
        if opts.get("half_life_days") and opts.get("movielens"):
            raise click.BadParameter("time decay applies to --interactions files and Solace's event log, "
                                     "not to MovieLens ratings", param_hint="--half-life-days")
        if weights and opts.get("movielens"):
            raise click.BadParameter("MovieLens ratings have no event types", param_hint="--event-weight")
        if opts.get("plots") and not opts.get("movielens"):
            raise click.BadParameter("--plots goes with --movielens DIR", param_hint="--plots")
        if opts.get("movielens"):
            from training.movielens import load_movielens

            return load_movielens(opts["movielens"], plots=opts.get("plots"), cache_dir=cache,
                                  threads=threads, progress=sys.stderr.isatty(),
                                  model_path=settings.embedding_model, batch_size=settings.embedding_batch_size)
        if opts.get("interactions"):
            from training.data_io import load_files

            wb = load_files(opts["interactions"], opts.get("item_text"), opts.get("item_features"),
                            opts.get("user_features"), weights, opts.get("half_life_days"),
                            cache_dir=cache, threads=threads, progress=sys.stderr.isatty(), named_event_types=named,
                            model_path=settings.embedding_model, batch_size=settings.embedding_batch_size)
            for note in wb.notes:
                click.echo(f"note: {note}", err=True)
            return wb
        from core.events import EVENT_TYPES

        unknown = [t for t in named if t not in EVENT_TYPES]
        if unknown:
            raise click.BadParameter(f"{', '.join(unknown)}: Solace's event log records only "
                                     f"{', '.join(EVENT_TYPES)}", param_hint="--event-weight")
        return _store_data(services, weights, opts.get("half_life_days"))
    except LoadError as exc:
        raise _load_failure(exc) from None


def _store_data(services: Any, weights: dict[str, float] | None, half_life_days: float | None = None) -> WorkbenchData:
    """Solace's own event log and catalog, with the raw feature lists recovered by name
    (identity columns dropped) so every configuration's recipe can be applied, and each
    pair's latest event time so the ``time`` split works on the event log too."""
    from solace.jobs import encoder_for
    from storage.registry import STORE_DATA_SOURCE
    from training.data_io import timestamp_matrix
    from training.pipeline import build_store_dataset, store_interactions

    try:
        from core.events import TimeWindow

        # the event times the API accepts: a stored row outside them is skipped and named
        interactions = store_interactions(services.engine, weights, half_life_days,
                                          window=TimeWindow.of(services.settings))
        data = build_store_dataset(services.engine, encoder_for(services).name,
                                   random_state=services.settings.random_state, interactions=interactions)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    stamps = {(i.user, i.item): i.timestamp.timestamp() for i in interactions if i.timestamp is not None}

    def lists(matrix: Any, names: list[str], ids: list[str], prefix: str) -> dict[str, list[tuple[str, float]]]:
        out: dict[str, list[tuple[str, float]]] = {}
        if matrix is None:
            return out
        csr = matrix.tocsr()
        for r, entity in enumerate(ids):
            cols = csr.indices[csr.indptr[r]:csr.indptr[r + 1]]
            vals = csr.data[csr.indptr[r]:csr.indptr[r + 1]]
            feats = [(names[c], float(v)) for c, v in zip(cols, vals) if not names[c].startswith(prefix)]
            if feats:
                out[entity] = feats
        return out

    return WorkbenchData(
        data,
        lists(data.item_features, data.item_feature_names, data.item_ids, ITEM_IDENTITY_PREFIX),
        lists(data.user_features, data.user_feature_names, data.user_ids, USER_IDENTITY_PREFIX),
        timestamps=timestamp_matrix(stamps, data.user_ids, data.item_ids, data.interactions),
        source=STORE_DATA_SOURCE,
    )


def _settings(ctx: click.Context) -> Any:
    return ctx.ensure_object(dict)["services"].settings


def _threads(ctx: click.Context, threads: int | None) -> int:
    return threads if threads is not None else _settings(ctx).threads


def _overrides(pairs: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``CONFIG.KEY=VALUE`` pairs (values parsed as JSON when they are JSON)."""
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        target, sep, raw = pair.partition("=")
        name, dot, key = target.partition(".")
        if not sep or not dot or not name or not key:
            raise click.BadParameter(f"{pair!r}: use CONFIG.KEY=VALUE, e.g. hybrid.epochs=30", param_hint="--set")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(name, {})[key] = value
    return out


def _writable_file(ctx: click.Context, param: click.Parameter, raw: str | None) -> Path | None:
    """An output file option, checked when the command starts: a report that cannot be
    written should fail before the training it reports on, not after. (Taken as text: a
    trailing slash, which a Path drops, means a folder was named instead of a file.)"""
    if raw is None:
        return None
    if raw.endswith(("/", os.sep)):
        raise click.BadParameter(f"{raw} names a folder: give a file name, e.g. {raw.rstrip('/' + os.sep)}/report"
                                 f"{'.html' if param.name == 'html_out' else '.json'}", ctx=ctx, param=param)
    value = Path(raw)
    folder = value.parent
    if not folder.is_dir():
        raise click.BadParameter(f"folder {folder} does not exist", ctx=ctx, param=param)
    if not os.access(folder, os.W_OK | os.X_OK) or (value.exists() and not os.access(value, os.W_OK)):
        raise click.BadParameter(f"{value} is not writable", ctx=ctx, param=param)
    return value


def _data_args(ctx: click.Context, data_opts: dict[str, Any]) -> list[str]:
    """The DATA OPTIONS given, back as command-line arguments (to print a command to rerun)."""
    import shlex

    args: list[str] = []
    for param in ctx.command.params:
        value = data_opts.get(param.name or "")
        if value in (None, ()) or not isinstance(param, click.Option):
            continue
        for one in value if param.multiple else [value]:
            args += [param.opts[0], shlex.quote(str(one))]
    return args


def _split_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--split", "split_kind", type=click.Choice(["random", "time", "cold-items", "predefined"]),
                     default=None, help="How to hold out test data (default: predefined when the data has one, else random)."),
        click.option("--test", "test_file", type=_FILE, help="A test interactions file; train on all the loaded data."),
        click.option("--test-share", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.2,
                     show_default=True, help="Share held out by random, time and cold-items splits."),
        click.option("--k", "k", type=click.IntRange(min=1), default=10, show_default=True),
        click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of splits and models (default SOLACE_RANDOM_STATE)."),
        click.option("--threads", type=click.IntRange(1, 64), default=None, help="Training threads (default SOLACE_THREADS)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _make_split(wb: WorkbenchData, split_kind: str | None, test_file: Path | None, share: float, seed: int) -> Any:
    from training.workbench import make_split

    if test_file is not None and split_kind is not None:
        raise click.BadParameter("give either --test FILE or --split, not both", param_hint="--test")
    test_matrix = None
    if test_file is not None:
        test_matrix = _test_matrix(wb, test_file)
    kind = split_kind or ("predefined" if wb.predefined is not None else "random")
    try:
        return make_split(wb, kind, share, seed, test_matrix)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--split") from None


def make_holdout(wb: WorkbenchData, kind: str, seed: int, share: float = 0.2) -> Any:
    """The holdout ``solace train`` measures a version on, made as ``evaluate`` makes its
    splits (so ``--split predefined`` on MovieLens gives the ``ua.test`` figures)."""
    from training.pipeline import Holdout

    split = _make_split(wb, kind, None, share, seed)
    return Holdout(split.name, split.train, split.test, split.note)


def _test_matrix(wb: WorkbenchData, path: Path) -> Any:
    """A test file over the loaded users and items; pairs with unknown ids cannot be scored
    and are reported (a test file naming only unknown ids is an error)."""
    import numpy as np
    import scipy.sparse as sp

    from training.data_io import read_interactions

    try:
        raw = read_interactions(path)
    except LoadError as exc:
        raise _load_failure(exc) from None
    uidx, iidx = wb.data.user_index(), wb.data.item_index()
    pairs = [(uidx[u], iidx[i]) for (u, i) in raw.weights if u in uidx and i in iidx]
    dropped = len(raw.weights) - len(pairs)
    if not pairs:
        raise click.ClickException(f"{path.name}: no test pair names a user and an item of the training data")
    if dropped:
        click.echo(f"note: {dropped} test pairs name users or items absent from the training data and are not scored", err=True)
    rows, cols = zip(*pairs)
    m = sp.csr_matrix((np.ones(len(pairs), dtype=np.float32), (rows, cols)), shape=wb.data.shape)
    m.sort_indices()
    return m


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
@click.pass_context
def evaluate(ctx: click.Context, compare: str | None, sets: tuple[str, ...], json_out: Path | None,
             html_out: Path | None, list_configs: bool, baseline: str | None, repeats: int, split_kind: str | None,
             test_file: Path | None, test_share: float, k: int, seed: int | None, threads: int | None,
             **data_opts: Any) -> None:
    """Compare configurations on one split: one table, optional JSON and HTML report."""
    from training.models import ParamError
    from training.report import gain_text, text_table, write_html, write_json
    from training.workbench import (
        CONFIGS,
        DEFAULT_COMPARE,
        gains_over,
        metric_names,
        resolve_configs,
        summarise_repeats,
        text_hint,
    )
    from training.workbench import compare as run_compare

    if list_configs:
        width = max(len(name) for name in CONFIGS)
        for cfg in CONFIGS.values():
            click.echo(f"{cfg.name:<{width}}  {cfg.algorithm:<10} {cfg.description}")
        return
    names = [n.strip() for n in compare.split(",") if n.strip()] if compare else list(DEFAULT_COMPARE)
    try:
        configs = resolve_configs(names, _overrides(sets))
    except ParamError as exc:
        raise click.BadParameter(exc.describe(f"{exc.config}."), param_hint="'--set'") from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--compare") from None
    if baseline is not None and baseline not in names:
        raise click.BadParameter(f"{baseline!r} is not one of the compared configurations", param_hint="--baseline")
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
    started = time.perf_counter()

    def done(result: Any) -> None:
        click.echo(f"  {result.config.name}: fitted in {result.fit_seconds:.1f} s", err=True)

    runs = []
    try:
        for r in range(repeats):
            if r:
                split = _make_split(wb, split_kind, test_file, test_share, seed + r)
                click.echo(f"repeat {r + 1}/{repeats}: seed {seed + r}", err=True)
            runs.append(run_compare(wb, split, configs, k=k, random_state=seed + r, threads=n_threads, on_done=done))
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
    if repeats > 1:
        from training.report import metrics_json

        meta["per_repeat"] = [{"seed": seed + r, "metrics": metrics_json(run)} for r, run in enumerate(runs)]
    if json_out:
        write_json(json_out, results, meta)
        click.echo(f"wrote {json_out}", err=True)
    if html_out:
        write_html(html_out, results, metrics, meta)
        click.echo(f"wrote {html_out}", err=True)


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
    from training.workbench import CONFIGS, Split, metric_names, require_item_texts, resolve_configs, run_config

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
