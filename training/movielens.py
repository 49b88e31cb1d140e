"""``--movielens DIR``: the GroupLens MovieLens 100K layout, read directly.

- ``u.data``: every rating (user, item, rating, Unix time); all ratings are positives.
- ``u.item``: titles and the 19 genre flags (``genre:Action`` ...); ``u.genre`` names them.
- ``u.user``: demographics as user features: an age bucket, gender and occupation.
- ``ua.base``/``ua.test``: the predefined split (10 ratings per user held out).
- optionally the plot texts (``items_info.json``: title, plot, genres, year per movie id),
  embedded with the packaged encoder and cached under ``SOLACE_HOME`` so reruns are fast.

Files are Latin-1, as GroupLens ships them. Any malformed line fails the whole load with
file, line and reason, like the CSV readers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.features import FeatureList
from training.data_io import WorkbenchData, assemble, embed_with_cache
from training.readers import LoadError, RowProblem

AGE_BUCKETS = ((18, "<18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (50, "45-49"), (56, "50-55"))
PLOTS_RELATIVE = Path("data") / "ml-100k-plots" / "items_info.json"


def age_bucket(age: int) -> str:
    """The MovieLens 1M buckets: fine where tastes change fast, coarse after 56."""
    for upper, label in AGE_BUCKETS:
        if age < upper:
            return label
    return "56+"


def default_plots_path(movielens_dir: Path) -> Path | None:
    """``items_info.json`` next to the data (``../ml-100k-plots``) or under SOLACE_SHARED."""
    candidates = [movielens_dir.parent / "ml-100k-plots" / "items_info.json"]
    shared = os.environ.get("SOLACE_SHARED")
    if shared:
        candidates.append(Path(shared) / PLOTS_RELATIVE)
    return next((p for p in candidates if p.is_file()), None)


def _lines(path: Path, problems: list[RowProblem]) -> list[tuple[int, str]]:
    if not path.is_file():
        problems.append(RowProblem(path.name, 0, f"missing file {path}"))
        return []
    text = path.read_text(encoding="latin-1")
    return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _ratings(
    path: Path, problems: list[RowProblem], users: Collection[str], items: Collection[str],
) -> list[tuple[str, str, float, float]]:
    """Rating rows whose user and item exist in ``u.user``/``u.item``; any other row is a
    problem, so a predefined split is never silently a few ratings short. (When one of
    those files is missing or empty, that one problem is reported, not one per rating.)"""
    out = []
    for n, line in _lines(path, problems):
        parts = line.split("\t")
        if len(parts) != 4:
            problems.append(RowProblem(path.name, n, f"{len(parts)} tab-separated fields, expected 4"))
            continue
        user, item, rating, ts = (p.strip() for p in parts)
        if users and user not in users:
            problems.append(RowProblem(path.name, n, f"user {user!r} is not in u.user"))
            continue
        if items and item not in items:
            problems.append(RowProblem(path.name, n, f"item {item!r} is not in u.item"))
            continue
        try:
            out.append((user, item, float(rating), float(ts)))
        except ValueError:
            problems.append(RowProblem(path.name, n, "rating or timestamp is not a number"))
    return out


def _genres(directory: Path, problems: list[RowProblem]) -> list[str]:
    names = []
    for n, line in _lines(directory / "u.genre", problems):
        name, sep, index = line.rpartition("|")
        if not sep or not index.strip().isdigit():
            problems.append(RowProblem("u.genre", n, "expected NAME|INDEX"))
            continue
        names.append(name)
    return names


def _items(directory: Path, genres: list[str], problems: list[RowProblem]) -> tuple[dict[str, FeatureList], dict[str, str]]:
    features: dict[str, FeatureList] = {}
    titles: dict[str, str] = {}
    for n, line in _lines(directory / "u.item", problems):
        parts = line.split("|")
        flags = parts[5:]
        if len(parts) < 6 or len(flags) != len(genres) or any(f not in ("0", "1") for f in flags):
            problems.append(RowProblem("u.item", n, f"expected id|title|dates|url and {len(genres)} 0/1 genre flags"))
            continue
        features[parts[0]] = [(f"genre:{g}", 1.0) for g, f in zip(genres, flags) if f == "1"]
        titles[parts[0]] = parts[1]
    return features, titles


def _users(directory: Path, problems: list[RowProblem]) -> dict[str, FeatureList]:
    out: dict[str, FeatureList] = {}
    for n, line in _lines(directory / "u.user", problems):
        parts = line.split("|")
        if len(parts) != 5 or not parts[1].isdigit():
            problems.append(RowProblem("u.user", n, "expected id|age|gender|occupation|zip"))
            continue
        out[parts[0]] = [
            (f"age:{age_bucket(int(parts[1]))}", 1.0),
            (f"gender:{parts[2]}", 1.0),
            (f"occupation:{parts[3]}", 1.0),
        ]
    return out


def plot_texts(path: Path, item_ids: list[str], titles: dict[str, str]) -> dict[str, str]:
    """One text per movie: title, year, genres and plot (the title alone when no plot)."""
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LoadError([RowProblem(path.name, 0, f"unreadable plots file ({exc})")]) from None
    by_id = {str(r.get("movielens_id")): r for r in records if isinstance(r, dict)}
    texts = {}
    for item in item_ids:
        r = by_id.get(item, {})
        title = (r.get("title") or titles.get(item, "")).strip()
        year = (r.get("year") or "").strip()
        genres = (r.get("genres") or "").strip()
        plot = (r.get("plot") or "").strip()
        head = f"{title} ({year})" if year else title
        texts[item] = ". ".join(p for p in (head, genres, plot) if p) or f"movie {item}"
    return texts


def load_movielens(
    directory: Path,
    plots: Path | None = None,
    embed: bool = True,
    cache_dir: Path | None = None,
    threads: int | None = None,
    progress: bool = False,
    model_path: str | None = None,
    batch_size: int = 64,
) -> WorkbenchData:
    """The whole dataset (u.data), its features, the ua split, and plot embeddings if found.

    Both ``ua`` matrices are indexed like the full data, so a model trained on ua.base is
    scored against the same item rows that ua.test names.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise LoadError([RowProblem(str(directory), 0, "not a directory")])
    problems: list[RowProblem] = []
    genres = _genres(directory, problems)
    item_features, titles = _items(directory, genres, problems)
    user_features = _users(directory, problems)
    ratings = _ratings(directory / "u.data", problems, user_features, item_features)
    base = test = None
    if (directory / "ua.base").is_file() and (directory / "ua.test").is_file():
        base = _ratings(directory / "ua.base", problems, user_features, item_features)
        test = _ratings(directory / "ua.test", problems, user_features, item_features)
    if problems:
        raise LoadError(problems)
    weights = {(u, i): 1.0 for u, i, _r, _t in ratings}
    stamps: dict[tuple[str, str], float] = {}
    for u, i, _r, t in ratings:
        stamps[(u, i)] = max(stamps.get((u, i), t), t)
    item_ids = sorted(item_features, key=int)
    texts: dict[str, str] = {}
    emb_map = None
    plots = plots if plots is not None else default_plots_path(directory)
    if plots is not None:
        texts = plot_texts(plots, item_ids, titles)
        if embed:
            vectors = embed_with_cache([texts[i] for i in item_ids], cache_dir, threads, progress,
                                       model_path, batch_size)
            emb_map = dict(zip(item_ids, vectors))
    wb = assemble(weights, item_features, user_features, texts, stamps, emb_map,
                  extra_items=item_ids, extra_users=list(user_features), source=f"movielens:{directory}")
    if base is not None and test is not None:
        wb.predefined = (_matrix(base, wb), _matrix(test, wb))
    return wb


def _matrix(ratings: list[tuple[str, str, float, float]], wb: WorkbenchData) -> sp.csr_matrix:
    uidx = wb.data.user_index()
    iidx = wb.data.item_index()
    pairs = {(uidx[u], iidx[i]) for u, i, _r, _t in ratings}
    rows = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
    cols = np.fromiter((p[1] for p in pairs), dtype=np.int64, count=len(pairs))
    out = sp.csr_matrix((np.ones(len(pairs), dtype=np.float32), (rows, cols)), shape=wb.data.shape)
    out.sort_indices()
    return out
