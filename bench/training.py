"""Training time of Solace's wrappers (``training/models``) over the raw library's ``fit``
on the same matrix: implicit ALS and LightFM, on MovieLens 100K (``u.data`` under
``$SOLACE_SHARED/data/ml-100k``, default ``/work/shared``; skipped with a message when
missing) and on a synthetic matrix of 1,000,000 interactions; plus the end-to-end
``solace train`` wall time (full mode) on a quick-start deployment.

    .venv/bin/python -m bench.training [--quick]

Runs alternate raw and wrapper and keep the median, so a noisy neighbour hits both alike.
"""

from __future__ import annotations

import os

# As `solace train` runs: one OpenBLAS thread (solace/__init__.py), set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from bench.common import bench_env, emit_json, parse_args, print_table, say  # noqa: E402

THREADS = 2


def movielens_matrix() -> sp.csr_matrix | None:
    shared = Path(os.environ.get("SOLACE_SHARED", "/work/shared"))
    path = shared / "data" / "ml-100k" / "u.data"
    if not path.is_file():
        say(f"MovieLens 100K not found at {path}: skipped (set SOLACE_SHARED)")
        return None
    raw = np.loadtxt(path, dtype=np.int64)
    users, items, ratings = raw[:, 0] - 1, raw[:, 1] - 1, raw[:, 2].astype(np.float32)
    return sp.csr_matrix((ratings, (users, items)), shape=(users.max() + 1, items.max() + 1))


def synthetic_matrix(nnz: int, n_users: int, n_items: int, seed: int = 3) -> sp.csr_matrix:
    """Power-law item popularity, ``nnz`` distinct (user, item) pairs, weights 1-5."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    pop /= pop.sum()
    users = rng.integers(0, n_users, size=int(nnz * 1.15))
    items = rng.choice(n_items, size=users.size, p=pop)
    pairs = np.unique(users.astype(np.int64) * n_items + items)[:nnz]
    rng.shuffle(pairs)
    pairs = np.sort(pairs[:nnz])
    weights = rng.integers(1, 6, size=pairs.size).astype(np.float32)
    return sp.csr_matrix((weights, (pairs // n_items, pairs % n_items)), shape=(n_users, n_items))


def _data(m: sp.csr_matrix) -> Any:
    from training.dataset import InteractionData

    return InteractionData([f"u{i}" for i in range(m.shape[0])], [f"i{j}" for j in range(m.shape[1])], m)


def time_pair(raw_fn: Any, wrap_fn: Any, reps: int) -> dict[str, Any]:
    raw_t, wrap_t = [], []
    for i in range(reps):
        order = [(raw_fn, raw_t), (wrap_fn, wrap_t)] if i % 2 == 0 else [(wrap_fn, wrap_t), (raw_fn, raw_t)]
        for fn, out in order:
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    raw, wrap = statistics.median(raw_t), statistics.median(wrap_t)
    return {"raw_s": raw, "solace_s": wrap, "ratio": wrap / raw, "raw_all": raw_t, "solace_all": wrap_t}


def bench_matrix(name: str, m: sp.csr_matrix, quick: bool) -> list[dict[str, Any]]:
    from implicit.cpu.als import AlternatingLeastSquares
    from lightfm import LightFM

    from training.models.lightfm_hybrid import LightFMHybrid
    from training.models.matrix_factorization import ImplicitALS

    data = _data(m)
    reps = 2 if quick else 3
    als_params = {"factors": 64, "regularization": 0.05, "alpha": 1.0,
                  "iterations": 5 if quick else 15, "random_state": 42}
    csr32 = m.astype(np.float32).tocsr()

    def raw_als() -> None:
        AlternatingLeastSquares(**als_params, num_threads=THREADS, calculate_training_loss=False).fit(
            csr32, show_progress=False)

    def solace_als() -> None:
        ImplicitALS(**als_params, threads=THREADS).fit(data)

    epochs = 2 if quick else 10
    coo = m.tocoo()
    positives = sp.coo_matrix((np.ones_like(coo.data), (coo.row, coo.col)), shape=coo.shape, dtype=np.float32)
    lfm_params = {"no_components": 64, "loss": "warp", "learning_rate": 0.05, "max_sampled": 10,
                  "random_state": 42}

    def raw_lfm() -> None:
        LightFM(**lfm_params).fit(positives, epochs=epochs, num_threads=THREADS)

    def solace_lfm() -> None:
        LightFMHybrid(**lfm_params, epochs=epochs, threads=THREADS, use_user_features=False,
                      use_item_features=False).fit(data)

    rows = []
    for algo, raw_fn, wrap_fn, what in (
        ("als", raw_als, solace_als, f"{als_params['iterations']} iterations"),
        ("lightfm", raw_lfm, solace_lfm, f"{epochs} epochs, warp"),
    ):
        say(f"{name}: {algo}")
        r = time_pair(raw_fn, wrap_fn, reps)
        rows.append({"data": name, "interactions": int(m.nnz), "algorithm": algo, "setting": what,
                     "threads": THREADS, **r})
    return rows


def end_to_end(quick: bool) -> dict[str, Any]:
    """`solace quickstart --no-serve` once, then the wall time of `solace train`."""
    if quick:
        say("end-to-end `solace train` runs in full mode only")
        return {}
    import sys

    solace = str(Path(sys.executable).with_name("solace"))
    out: dict[str, Any] = {}
    with bench_env("train") as be:
        env = be.env()
        t = time.perf_counter()
        p = subprocess.run([solace, "quickstart", "--no-serve"], env=env, cwd=be.home,
                           capture_output=True, text=True, timeout=900)
        out["quickstart_no_serve_s"] = time.perf_counter() - t
        if p.returncode != 0:
            say(f"quickstart failed: {p.stderr[-2000:]}")
            return out
        for algo in ("lightfm", "als"):
            t = time.perf_counter()
            p = subprocess.run([solace, "train", "--algorithm", algo], env=env, cwd=be.home,
                               capture_output=True, text=True, timeout=900)
            out[f"solace_train_{algo}_s"] = time.perf_counter() - t
            if p.returncode != 0:
                say(f"solace train {algo} failed: {p.stderr[-2000:]}")
    return out


def main() -> None:
    args = parse_args(__doc__)
    quick = args.quick
    rows: list[dict[str, Any]] = []
    ml = movielens_matrix()
    if ml is not None:
        rows += bench_matrix("movielens-100k", ml, quick)
    nnz = 200_000 if quick else 1_000_000
    syn = synthetic_matrix(nnz, n_users=nnz // 20, n_items=20_000)
    rows += bench_matrix(f"synthetic-{nnz // 1000}k", syn, quick)
    e2e = end_to_end(quick)
    print_table("training: Solace wrapper over raw fit (median of alternating runs)",
                [{k: v for k, v in r.items() if not k.endswith("_all")} for r in rows])
    if e2e:
        print_table("end-to-end", [{"what": k, "seconds": v} for k, v in e2e.items()])
    emit_json("training", quick, {"movielens_found": ml is not None, "fits": rows, "end_to_end": e2e})


if __name__ == "__main__":
    main()
