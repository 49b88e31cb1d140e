"""Spark ALS against implicit ALS on MovieLens 100K ``ua.base``/``ua.test`` (issue 20), and
what serving's fold-in makes of a Spark-trained version.

Both fit the parity parameters of docs/spark.md (64 factors, λ 0.05, α 10, 15 iterations,
binary), implicit with 2 threads, Spark on ``--master`` (default ``local[2]``, started
before the clock). Per model: precision@10 and NDCG@10 of the trained user vectors, and of
every ``ua.base`` user folded in from their history by serving's ALS step with the
manifest's λ and α (``recommender.foldin``). For the Spark model also with each user's own
``regParam x n`` (what Spark solved them with): the gap between the two is what the
constant λ of the mapping costs.

    nice -n 15 .venv/bin/python -m bench.spark_parity [--master local[2]]
        [--regularization 0.05 --alpha 10 --iterations 15 --ratings]

``--ratings`` uses the ratings (1-5) as weights instead of binary positives (as ``als-tuned``).

MovieLens is read from ``$SOLACE_SHARED/data/ml-100k``; without it, or without Spark, the
benchmark says so and exits 0.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from bench.common import emit_json, movielens_dir, parse_args, print_table, say  # noqa: E402

PARAMS = {"factors": 64, "regularization": 0.05, "alpha": 10.0, "iterations": 15, "binary": True}


class _Vectors:
    def __init__(self, users: np.ndarray, items: np.ndarray) -> None:
        self._users, self._items = users, items

    def user_vectors(self) -> np.ndarray:
        return self._users

    def item_vectors(self) -> np.ndarray:
        return self._items


def main() -> None:
    def extra(ap: Any) -> None:
        ap.add_argument("--master", default="local[2]")
        ap.add_argument("--regularization", type=float, default=PARAMS["regularization"])
        ap.add_argument("--alpha", type=float, default=PARAMS["alpha"])
        ap.add_argument("--iterations", type=int, default=PARAMS["iterations"])
        ap.add_argument("--ratings", action="store_true")

    args = parse_args(__doc__.splitlines()[0] if __doc__ else "", extra)
    directory = movielens_dir()
    if directory is None:
        return
    from recommender.foldin import FoldIn
    from training.dataset import InteractionData
    from training.evaluate import evaluate_model
    from training.models.matrix_factorization import ImplicitALS
    from training.models.spark_als import SparkALS, spark_problem, spark_session
    from training.movielens import load_movielens

    params = {**PARAMS, "regularization": args.regularization, "alpha": args.alpha,
              "iterations": args.iterations, "binary": not args.ratings}
    say(f"parameters: {params}")
    problem = spark_problem()
    if problem:
        say(f"skipped: {problem}")
        return
    wb = load_movielens(directory, embed=False, progress=False)
    assert wb.predefined is not None
    train, test = wb.predefined
    data = InteractionData(user_ids=wb.data.user_ids, item_ids=wb.data.item_ids, interactions=train)
    begun = time.perf_counter()
    spark_session(args.master)
    say(f"Spark {args.master} started in {time.perf_counter() - begun:.1f} s")
    histories = [train.indices[train.indptr[u]:train.indptr[u + 1]] for u in range(train.shape[0])]

    def weights(u: int) -> np.ndarray:
        """A user's confidences before alpha, as the model was given them."""
        row = np.asarray(train.data[train.indptr[u]:train.indptr[u + 1]], dtype=np.float64)
        return np.ones(len(row)) if params["binary"] else row
    rows, figures = [], {}
    for name, model in (("implicit", ImplicitALS(**params, threads=2)),
                        ("spark", SparkALS(**params, master=args.master))):
        load = os.getloadavg()[0]
        started = time.perf_counter()
        model.fit(data)
        seconds = time.perf_counter() - started
        items, users = model.item_vectors(), model.user_vectors()
        trained = evaluate_model(_Vectors(users, items), train, test, k=10)
        foldin = FoldIn.for_items(items, "als", params["regularization"], alpha=params["alpha"])
        solved = foldin.user_vectors(items, histories, [weights(u) for u in range(len(histories))])
        folded = evaluate_model(_Vectors(solved, items), train, test, k=10)
        entry: dict[str, Any] = {"fit_s": seconds, "load_average": load,
                                 "trained_p@10": trained["precision@10"], "trained_ndcg@10": trained["ndcg@10"],
                                 "foldin_p@10": folded["precision@10"], "foldin_ndcg@10": folded["ndcg@10"]}
        if isinstance(model, SparkALS):
            reg_param = model.notes_["spark_params"]["regParam"]
            own = np.zeros_like(users)
            for u, h in enumerate(histories):  # each user's own Spark λ: regParam x positives
                if len(h):
                    one = FoldIn.for_items(items, "als", reg_param * len(h), alpha=params["alpha"])
                    own[u] = one.user_vector(items, h, weights(u))
            per_user = evaluate_model(_Vectors(own, items), train, test, k=10)
            entry.update({"foldin_own_lambda_p@10": per_user["precision@10"],
                          "foldin_own_lambda_ndcg@10": per_user["ndcg@10"],
                          "regParam": reg_param, "mean_positives_per_user": model.notes_["mapping"]
                          ["mean_positives_per_user"], "spark_fit_s": model.notes_["fit_seconds"]})
        figures[name] = entry
        say(f"{name}: {entry}")
        rows.append({"model": name, **{k: v for k, v in entry.items() if k != "mean_positives_per_user"}})
    print_table("ALS on MovieLens 100K ua.test: implicit and Spark, trained and folded-in users", rows)
    emit_json("spark_parity", False, {"params": params, **figures})


if __name__ == "__main__":
    main()
