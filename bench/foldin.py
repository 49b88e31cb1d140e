"""How good is serving's fold-in? Users whose vector is solved from their interactions at
request time (``recommender/foldin.py``, as ``serving/user_vectors.py`` calls it) against the
same users' trained vectors, on MovieLens 100K ``ua.base``/``ua.test``.

Every user who interacts after a model is trained gets a folded-in vector until the next
training run, so this gap is what those users lose. Per configuration: precision@10 and
NDCG@10 of the trained vectors and of the folded-in ones (every user re-solved from their
``ua.base`` rows at confidence 1), and the solve time per user in batches of 100.

    .venv/bin/python -m bench.foldin [--quick]

MovieLens is read from ``$SOLACE_SHARED/data/ml-100k`` (default ``/work/shared``); without
it the benchmark says so and exits 0. ``--quick`` runs the ALS configurations only.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from bench.common import emit_json, movielens_dir, parse_args, print_table, say  # noqa: E402

THREADS = 2
BATCH = 100


class _Vectors:
    """Just enough of a model for ``evaluate_model``: fixed user and item matrices."""

    def __init__(self, users: np.ndarray, items: np.ndarray) -> None:
        self._users, self._items = users, items

    def user_vectors(self) -> np.ndarray:
        return self._users

    def item_vectors(self) -> np.ndarray:
        return self._items


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    directory = movielens_dir()
    if directory is None:
        return
    from recommender.foldin import BlendFoldIn, FoldIn, foldin_settings, typical_user_norm
    from training.evaluate import evaluate_model
    from training.movielens import load_movielens
    from training.configs import CONFIGS, model_for
    from training.recipes import config_data

    names = ["als-ref", "als-tuned"] if args.quick else ["als-ref", "als-tuned", "lightfm", "hybrid-als-demographics"]
    wb = load_movielens(directory, cache_dir=Path(os.environ.get("SOLACE_HOME", ".solace")) / "cache",
                        threads=THREADS, progress=False)
    assert wb.predefined is not None
    train, test = wb.predefined
    rows, figures = [], {}
    for name in names:
        cfg = CONFIGS[name]
        say(f"training {name} on ua.base")
        model = model_for(cfg, 42, THREADS).fit(config_data(wb, cfg, train, 42))
        items = np.asarray(model.item_vectors(), dtype=np.float32)
        users = np.asarray(model.user_vectors(), dtype=np.float32)
        algorithm = model.name
        trained = evaluate_model(_Vectors(users, items), train, test, k=10)
        # as serving builds it from the published meta (training/publish.py)
        parts = model.foldin_parts()
        foldin: FoldIn | BlendFoldIn
        if parts:
            seen = np.asarray((train > 0).sum(axis=0)).ravel() > 0
            foldin = BlendFoldIn(items, parts, seen)
        else:
            settings = foldin_settings(algorithm, model.get_params())
            foldin = FoldIn.for_items(items, algorithm, target_norm=typical_user_norm(users, algorithm), **settings)
        histories = [train.indices[train.indptr[u]:train.indptr[u + 1]] for u in range(train.shape[0])]
        solved = np.zeros_like(users)
        started = time.perf_counter()
        for start in range(0, len(histories), BATCH):
            batch = histories[start:start + BATCH]
            solved[start:start + len(batch)] = foldin.user_vectors(items, batch, [np.ones(len(h)) for h in batch])
        per_user_ms = (time.perf_counter() - started) * 1000 / len(histories)
        folded = evaluate_model(_Vectors(solved, items), train, test, k=10)
        entry: dict[str, Any] = {
            "trained_precision@10": trained["precision@10"], "foldin_precision@10": folded["precision@10"],
            "trained_ndcg@10": trained["ndcg@10"], "foldin_ndcg@10": folded["ndcg@10"],
            "foldin_ms_per_user": per_user_ms,
        }
        figures[name] = entry
        rows.append({"configuration": name, "algorithm": algorithm,
                     "p@10 trained": f"{entry['trained_precision@10']:.4f}",
                     "p@10 fold-in": f"{entry['foldin_precision@10']:.4f}",
                     "ndcg@10 trained": f"{entry['trained_ndcg@10']:.4f}",
                     "ndcg@10 fold-in": f"{entry['foldin_ndcg@10']:.4f}",
                     "ms/user": f"{per_user_ms:.2f}"})
    print_table("fold-in against trained user vectors (MovieLens 100K ua.test)", rows)
    emit_json("foldin", args.quick, figures)


if __name__ == "__main__":
    main()
