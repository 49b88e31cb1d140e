"""How Spark ALS's fit time grows with the number of interactions (issue 20, for the
capacity plan): ``training.models.spark_als.SparkALS`` on synthetic implicit feedback of
1M and 5M interactions (``--quick``: 100k), on one Spark master (default ``local[2]``).

Synthetic data: 50 interactions per user on average, items drawn from a Zipf-like
popularity over 20,000 items (so a few items are very popular, as in real logs), one
positive per pair. The fit runs with the parity parameters of docs/spark.md (64 factors,
regularisation 0.05, alpha 10, binary) but ``--iterations`` (default 5) rather than 15:
a Spark ALS iteration costs the same each time, so the time per iteration is the figure
to scale with. The Spark session is started before the clock. The machine's load average
is printed with every row: on a shared machine it moves the figures.

    nice -n 15 .venv/bin/python -m bench.spark_scaling [--quick] [--sizes 1000000,5000000]
        [--master local[2]] [--iterations 5]
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from bench.common import emit_json, parse_args, print_table, say

N_ITEMS = 20_000
PER_USER = 50


def synthetic(n_interactions: int, seed: int = 0) -> sp.csr_matrix:
    """About ``n_interactions`` distinct (user, item) positives, Zipf-like item popularity."""
    rng = np.random.default_rng(seed)
    n_users = max(1, n_interactions // PER_USER)
    popularity = 1.0 / np.arange(1, N_ITEMS + 1) ** 0.8
    popularity /= popularity.sum()
    draw = int(n_interactions * 1.1)  # duplicates are merged below
    users = rng.integers(0, n_users, size=draw)
    items = rng.choice(N_ITEMS, size=draw, p=popularity)
    matrix = sp.csr_matrix((np.ones(draw, dtype=np.float32), (users, items)), shape=(n_users, N_ITEMS))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    coo = matrix.tocoo()
    keep = np.sort(rng.permutation(coo.nnz)[:n_interactions])
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=matrix.shape)


def main() -> None:
    def extra(ap: Any) -> None:
        ap.add_argument("--sizes", default="1000000,5000000")
        ap.add_argument("--master", default="local[2]")
        ap.add_argument("--iterations", type=int, default=5)

    args = parse_args(__doc__ or "", extra)
    from training.dataset import InteractionData
    from training.models.spark_als import SparkALS, spark_problem, spark_session

    problem = spark_problem()
    if problem:
        say(f"skipped: {problem}")
        emit_json("spark_scaling", args.quick, {"skipped": problem})
        return
    sizes = [100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    started = time.perf_counter()
    spark = spark_session(args.master)
    say(f"Spark {spark.version} on {args.master} started in {time.perf_counter() - started:.1f} s")
    rows = []
    for size in sizes:
        matrix = synthetic(size)
        data = InteractionData(user_ids=[f"u{i}" for i in range(matrix.shape[0])],
                               item_ids=[f"i{j}" for j in range(matrix.shape[1])], interactions=matrix)
        load_before = os.getloadavg()[0]
        model = SparkALS(factors=64, regularization=0.05, alpha=10.0, iterations=args.iterations, binary=True,
                         master=args.master).fit(data)
        notes = model.notes_
        row = {"interactions": int(matrix.nnz), "users": matrix.shape[0], "items": matrix.shape[1],
               "iterations": args.iterations, "fit_s": float(notes["fit_seconds"]),
               "s_per_iteration": float(notes["fit_seconds"]) / args.iterations,
               "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}
        say(str(row))
        rows.append(row)
    print_table(f"Spark ALS fit time on {args.master} (rank 64)", rows)
    emit_json("spark_scaling", args.quick, {"master": args.master, "rows": rows})


if __name__ == "__main__":
    main()
