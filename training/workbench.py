"""Splits and comparisons for ``solace evaluate`` and ``tune``: every configuration
(``training.configs``) on the same split, with its own feature recipe
(``training.recipes``) and the same metric code."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from training.configs import ModelConfig, model_for
from training.data_io import WorkbenchData
from training.evaluate import evaluate_model
from training.models.base import Recommender
from training.recipes import config_data
from training.splits import cold_item_split, random_split, time_split


SPLITS = ("random", "time", "cold-items", "predefined")


# ----------------------------------------------------------------------------- splits
@dataclass
class Split:
    name: str
    train: sp.csr_matrix
    test: sp.csr_matrix
    cold_items: np.ndarray | None = None
    note: str = ""


def make_split(
    wb: WorkbenchData, kind: str, test_share: float = 0.2, random_state: int = 42,
    test_matrix: sp.csr_matrix | None = None,
) -> Split:
    """One of :data:`SPLITS` (or a given test matrix); raises ValueError when the data
    cannot support it (no timestamps for ``time``, no predefined files, nothing to hold
    out): a table of zeros measured on no test data would look like a result."""
    split = _split(wb, kind, test_share, random_state, test_matrix)
    if split.test.nnz == 0:
        hint = ("no item has interactions to hold out" if kind == "cold-items" else
                f"no user has enough interactions to hold out {test_share:.0%} of them and keep one to train on")
        raise ValueError(f"the {split.name} split has no test interactions: {hint}")
    if split.train.nnz == 0:
        raise ValueError(f"the {split.name} split has no training interactions")
    return split


def _split(
    wb: WorkbenchData, kind: str, test_share: float, random_state: int, test_matrix: sp.csr_matrix | None,
) -> Split:
    m = wb.data.interactions
    positives = m.copy()
    if test_matrix is not None:
        train = m.tocsr()
        return Split("test-file", train, test_matrix.tocsr(), note="train: all loaded interactions")
    if kind == "random":
        tr, te = random_split(positives, test_share, random_state)
        return Split(kind, tr, te, note=f"{test_share:.0%} of each user's interactions held out (seed {random_state})")
    if kind == "time":
        if wb.timestamps is None:
            raise ValueError("the time split needs timestamps: add a timestamp column to the interactions")
        tr, te = time_split(positives, wb.timestamps, test_share)
        return Split(kind, tr, te, note=f"each user's latest {test_share:.0%} held out")
    if kind == "cold-items":
        tr, te, cold = cold_item_split(positives, test_share, random_state)
        return Split(kind, tr, te, cold, note=f"all interactions of {len(cold)} item{'s' if len(cold) != 1 else ''} ({test_share:.0%}) held out (seed {random_state})")
    if kind == "predefined":
        if wb.predefined is None:
            raise ValueError("the predefined split needs --movielens DIR with ua.base/ua.test, or use --test FILE")
        tr, te = wb.predefined
        return Split(kind, tr, te, note="given train/test files (MovieLens ua.base/ua.test)")
    raise ValueError(f"unknown split {kind!r}; choose from {', '.join(SPLITS)}")


# ----------------------------------------------------------------------------- runs
@dataclass
class Result:
    config: ModelConfig
    metrics: dict[str, float | None]
    fit_seconds: float


def run_config(
    wb: WorkbenchData, split: Split, cfg: ModelConfig, k: int = 10, random_state: int = 42, threads: int = 1,
) -> Result:
    data = config_data(wb, cfg, split.train, random_state)
    started = time.perf_counter()
    model = model_for(cfg, random_state, threads)
    model.fit(data)
    seconds = time.perf_counter() - started
    return Result(cfg, score_model(model, wb, split, k), seconds)


def score_model(model: Recommender, wb: WorkbenchData, split: Split, k: int = 10) -> dict[str, float | None]:
    """Every metric of a fitted model on ``split``'s test part (None where not computable)."""
    metrics: dict[str, float | None] = dict(
        evaluate_model(model, split.train, split.test, k=k, item_embeddings=wb.data.item_embeddings)
    )
    metrics.setdefault("diversity", None)
    for key, value in metrics.items():
        if isinstance(value, float) and not np.isfinite(value):
            metrics[key] = None
    return metrics


def compare(
    wb: WorkbenchData, split: Split, configs: Sequence[ModelConfig], k: int = 10, random_state: int = 42,
    threads: int = 1, on_done: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Every configuration on the same split with the same metrics."""
    results = []
    for cfg in configs:
        result = run_config(wb, split, cfg, k, random_state, threads)
        results.append(result)
        if on_done:
            on_done(result)
    return results


def summarise_repeats(runs: Sequence[Sequence[Result]]) -> list[Result]:
    """One result per configuration over repeated runs: the mean of each metric, and its
    sample standard deviation under ``"<metric>_sd"`` (a single run's difference between
    two models means little until it is compared with this spread)."""
    if not runs:
        raise ValueError("no runs to summarise")
    out = []
    for column in zip(*runs):
        first = column[0]
        metrics: dict[str, float | None] = {}
        for key in first.metrics:
            values = [r.metrics.get(key) for r in column]
            finite = [float(v) for v in values if v is not None and np.isfinite(v)]
            metrics[key] = float(np.mean(finite)) if finite else None
            if len(column) > 1:
                metrics[f"{key}_sd"] = float(np.std(finite, ddof=1)) if len(finite) > 1 else None
        out.append(Result(first.config, metrics, float(np.mean([r.fit_seconds for r in column]))))
    return out


def gains_over(runs: Sequence[Sequence[Result]], baseline: str, metrics: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Each configuration's relative gain over ``baseline`` (``value / baseline - 1``),
    computed within each run and then averaged, so a repeat's shared luck cancels out;
    with several runs ``"<metric>_sd"`` is the spread of the per-run gains."""
    out: dict[str, dict[str, float | None]] = {}
    for column in zip(*runs):
        name = column[0].config.name
        entry: dict[str, float | None] = {}
        for m in metrics:
            per_run = []
            for run, result in zip(runs, column):
                base = next(r for r in run if r.config.name == baseline).metrics.get(m)
                value = result.metrics.get(m)
                if base is not None and value is not None and np.isfinite(base) and np.isfinite(value) and base != 0:
                    per_run.append(float(value) / float(base) - 1.0)
            entry[m] = float(np.mean(per_run)) if per_run else None
            if len(runs) > 1:
                entry[f"{m}_sd"] = float(np.std(per_run, ddof=1)) if len(per_run) > 1 else None
        out[name] = entry
    return out


def metric_names(k: int) -> list[str]:
    return [f"precision@{k}", f"recall@{k}", f"ndcg@{k}", f"map@{k}", "auc", "coverage", "diversity"]
