"""The DATA OPTIONS of ``solace train``, ``evaluate`` and ``tune``: files in PRODUCT.md's
formats, ``--movielens DIR``, or nothing (Solace's own event log and catalog), and the
splits. The loaders know nothing of click: their errors are translated here into one line
and a non-zero exit."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from training.data_io import WorkbenchData
from training.readers import LoadError


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
    for kind in ("dismiss", "report", "distress", "not_helpful", "content_report"):
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
    """Solace's own event log and catalog (``training.store_data``), with the event times
    the API accepts; a store that cannot give a dataset is one line."""
    from core.events import TimeWindow
    from solace.jobs import encoder_for
    from training.store_data import store_workbench_data

    try:
        return store_workbench_data(services.engine, encoder_for(services).name, services.settings.random_state,
                                    TimeWindow.of(services.settings), weights, half_life_days)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


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

    from training.readers import read_interactions

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
