"""Implicit-feedback ALS trained on Apache Spark MLlib, behind the same interface as
implicit's ALS (:class:`training.models.matrix_factorization.ImplicitALS`).

Spark is for interaction logs that no longer fit one machine; on one machine implicit is an
order of magnitude faster (docs/spark.md), so this engine is never the default. A version
it trains is an ``als`` version in every respect serving looks at: the same arrays, ids in
the same order, and parameters with implicit's meaning, so that evaluation, promotion,
publish and the ALS fold-in work unchanged. That needs two translations, because the two
libraries define the same model differently:

- **confidence**: implicit's confidence is ``alpha * w`` (w: the interaction's weight);
  Spark's is ``1 + alpha * r``. Spark is given ``r = w - 1/alpha``, so both equal
  ``alpha * w``. A pair whose ``alpha * w`` is at most 1 gets a tiny positive ``r``
  (confidence 1): what serving's fold-in does with such a pair (it clamps at 1).
- **regularisation**: implicit solves every user and item with the same λ; Spark's
  ``regParam`` is multiplied by the number of positive interactions of the user or item
  being solved (ALS-WR), in implicit mode too. No single ``regParam`` reproduces a
  constant λ, so ``regParam = λ / n̄`` with n̄ the mean number of positives per user: a
  user with the mean history is solved with exactly λ, which is also what the fold-in
  solves a new user with. Users with longer histories (and popular items) get more.

PySpark is imported only here, inside :meth:`SparkALS.fit` and :func:`spark_session`: it
is an optional extra and needs Java.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from pydantic import Field, field_validator

from training.dataset import InteractionData
from training.models.base import Recommender
from training.models.matrix_factorization import Weighting, WEIGHTINGS, confidence_weighting
from training.models.params import AlgorithmParams

DEFAULT_MASTER = "local[*]"
MIN_JAVA = 17  # PySpark 4 runs on Java 17 or later
PYSPARK_HINT = "pip install -e '.[spark]'"
JAVA_HINT = "apt-get install openjdk-17-jre-headless (or set JAVA_HOME)"
# the master URLs Spark itself accepts; anything else fails only after a JVM has started
_MASTER = re.compile(r"^(local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?|spark://\S+|yarn|k8s://\S+)$")
# below any confidence a real interaction gives, above Spark's "no preference" (r <= 0)
_TINY = 1e-6


class SparkUnavailable(RuntimeError):
    """Spark cannot run here; the message says what to install (one line)."""


def java_binary() -> str | None:
    """The ``java`` Spark will launch: ``$JAVA_HOME/bin/java`` when set, else the PATH's."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


@functools.lru_cache(maxsize=8)
def java_major(binary: str) -> int | None:
    """Java's major version from ``java -version`` (None when it cannot be read); asked
    once per binary and process, since starting a JVM to ask costs up to a second."""
    try:
        done = subprocess.run([binary, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def _pyspark_installed() -> bool:
    try:
        return importlib.util.find_spec("pyspark") is not None
    except (ImportError, ValueError):
        return False


def spark_problem() -> str | None:
    """One line saying what to install for ``--engine spark``, or None when it can run.

    Checked before any data is read: without it, a missing Java surfaces as a py4j
    traceback after the dataset was built."""
    if not _pyspark_installed():
        return f"training on Spark needs PySpark: {PYSPARK_HINT}"
    java = java_binary()
    if java is None:
        where = "JAVA_HOME has no bin/java" if os.environ.get("JAVA_HOME") else "no java on the PATH"
        return f"training on Spark needs Java {MIN_JAVA} or later ({where}): {JAVA_HINT}"
    major = java_major(java)
    if major is not None and major < MIN_JAVA:
        return f"training on Spark needs Java {MIN_JAVA} or later, found Java {major} ({java}): {JAVA_HINT}"
    return None


def spark_session(master: str = DEFAULT_MASTER) -> Any:
    """A SparkSession on ``master``, started once per process and reused (a JVM start costs
    seconds to a minute); one on another master is stopped first."""
    problem = spark_problem()
    if problem:
        raise SparkUnavailable(problem)
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(master).appName("solace-train")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.log.level", "ERROR"))
    session = builder.getOrCreate()
    if session.sparkContext.master != master:
        session.stop()
        session = builder.getOrCreate()
    return session


class SparkALSParams(AlgorithmParams):
    """:class:`SparkALS`'s parameters: implicit ALS's names and meanings, plus where to run."""

    algorithm = "als on Spark"

    factors: int = Field(32, ge=1)
    regularization: float = Field(0.05, ge=0)
    alpha: float = Field(1.0, gt=0)
    iterations: int = Field(15, ge=1)
    random_state: int = Field(42, ge=0)
    weighting: Weighting = "none"
    bm25_k1: float = Field(100.0, ge=0)
    bm25_b: float = Field(0.8, ge=0, le=1)
    binary: bool = False
    master: str = DEFAULT_MASTER
    blocks: int | None = Field(None, ge=1)  # Spark's numUserBlocks and numItemBlocks (None: Spark's 10)

    @field_validator("master")
    @classmethod
    def _known_master(cls, value: str) -> str:
        if not _MASTER.match(value):
            raise ValueError("a Spark master URL: local, local[N], local[*], spark://HOST:PORT, yarn or k8s://...")
        return value


def spark_inputs(confidences: sp.csr_matrix, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user row, item row, Spark rating) of every positive pair, the rating chosen so that
    Spark's confidence ``1 + alpha * r`` equals implicit's ``alpha * w`` (floored at 1)."""
    coo = sp.coo_matrix(confidences)
    keep = coo.data > 0
    rating = np.maximum(coo.data[keep].astype(np.float64) - 1.0 / alpha, _TINY / alpha)
    return coo.row[keep].astype(np.int32), coo.col[keep].astype(np.int32), rating.astype(np.float32)


def mean_positives_per_user(users: np.ndarray) -> float:
    """n̄ of the regularisation mapping: positives per user, over users with at least one."""
    counts = np.bincount(users)
    active = counts[counts > 0]
    return float(active.mean()) if len(active) else 1.0


def _factor_matrix(frame: Any, rows: int, rank: int) -> np.ndarray:
    """Spark's (id, features) factor table as rows aligned with Solace's ids; a user or item
    Spark never saw (no positive interaction) keeps a zero row, as implicit gives it."""
    table = frame.toArrow()
    out = np.zeros((rows, rank), dtype=np.float32)
    if table.num_rows:
        ids = np.asarray(table.column("id").to_numpy(), dtype=np.int64)
        values = np.asarray(table.column("features").combine_chunks().flatten().to_numpy(zero_copy_only=False),
                            dtype=np.float32)
        out[ids] = values.reshape(len(ids), rank)
    return out


class SparkALS(Recommender):
    """Weighted ALS (Hu, Koren, Volinsky) fitted by Spark MLlib's ``ALS(implicitPrefs=True)``.

    Parameters mean what :class:`ImplicitALS`'s do (the module docstring says how they are
    translated); ``master`` is the Spark master URL and ``blocks`` Spark's number of user
    and item blocks. The interactions reach Spark as a Parquet file in ``staging_dir`` (a
    temporary directory by default: on a cluster it must be a path every executor reads).
    """

    name = "als"  # the family serving folds users into: the ALS user step with λ and α
    params_model = SparkALSParams

    def __init__(
        self, factors: int = 32, regularization: float = 0.05, alpha: float = 1.0, iterations: int = 15,
        random_state: int = 42, weighting: Weighting = "none", bm25_k1: float = 100.0, bm25_b: float = 0.8,
        binary: bool = False, master: str = DEFAULT_MASTER, blocks: int | None = None,
        staging_dir: str | None = None,
    ) -> None:
        if weighting not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {weighting!r}; choose from {', '.join(WEIGHTINGS)}")
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.weighting = weighting
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.binary = bool(binary)
        self.master = master
        self.blocks = blocks
        self.staging_dir = staging_dir

    def get_params(self) -> dict[str, Any]:
        """What :class:`ImplicitALS` records, with the same meaning (serving's fold-in reads
        ``regularization`` and ``alpha``); Spark's own values are in :meth:`training_notes`."""
        params: dict[str, Any] = {
            "factors": self.factors, "regularization": self.regularization, "alpha": self.alpha,
            "iterations": self.iterations, "random_state": self.random_state,
        }
        if self.weighting != "none":
            params.update(weighting=self.weighting, bm25_k1=self.bm25_k1, bm25_b=self.bm25_b)
        if self.binary:
            params["binary"] = True
        return params

    def confidences(self, data: InteractionData) -> sp.csr_matrix:
        """The weights implicit's ALS would be given (binary, then reweighted), before alpha."""
        interactions = sp.csr_matrix(data.interactions, dtype=np.float32, copy=True)
        if self.binary:
            interactions.data = (interactions.data > 0).astype(np.float32)
            interactions.eliminate_zeros()
        return confidence_weighting(interactions, self.weighting, self.bm25_k1, self.bm25_b)

    def fit(self, data: InteractionData) -> Self:
        import pyarrow as pa
        import pyarrow.parquet as pq

        confidences = self.confidences(data)
        n_users, n_items = confidences.shape
        users, items, ratings = spark_inputs(confidences, self.alpha)
        if len(ratings) == 0:
            raise ValueError("no positive interactions to train ALS on Spark from")
        per_user = mean_positives_per_user(users)
        reg_param = self.regularization / per_user
        started = time.perf_counter()
        spark = spark_session(self.master)
        session_seconds = time.perf_counter() - started
        from pyspark.ml.recommendation import ALS

        with tempfile.TemporaryDirectory(prefix="solace-spark-", dir=self.staging_dir) as staging:
            path = Path(staging) / "interactions.parquet"
            pq.write_table(pa.table({"user": users, "item": items, "rating": ratings}), path)
            frame = spark.read.parquet(str(path))
            # Without a checkpoint directory Spark never cuts ALS's lineage, and past ~20
            # iterations serialising a task overflows the JVM's stack (StackOverflowError at
            # 30 iterations on MovieLens); with one, ALS checkpoints every checkpointInterval
            # (10) iterations. A directory the session already has is kept (a cluster's HDFS).
            previous = spark.sparkContext.getCheckpointDir()
            if previous is None or "solace-spark-" in previous:
                spark.sparkContext.setCheckpointDir(str(Path(staging) / "checkpoints"))
            als = ALS(rank=self.factors, maxIter=self.iterations, regParam=reg_param, alpha=self.alpha,
                      implicitPrefs=True, nonnegative=False, seed=self.random_state,
                      userCol="user", itemCol="item", ratingCol="rating")
            if self.blocks is not None:  # else Spark's default (10 each)
                als.setNumUserBlocks(self.blocks).setNumItemBlocks(self.blocks)
            fit_started = time.perf_counter()
            model = als.fit(frame)
            self.user_factors_ = _factor_matrix(model.userFactors, n_users, self.factors)
            self.item_factors_ = _factor_matrix(model.itemFactors, n_items, self.factors)
            fit_seconds = time.perf_counter() - fit_started
        self.notes_ = {
            "name": "spark", "spark_version": str(spark.version), "master": str(spark.sparkContext.master),
            "algorithm": "pyspark.ml.recommendation.ALS(implicitPrefs=True)",
            "spark_params": {"rank": self.factors, "maxIter": self.iterations, "regParam": reg_param,
                             "alpha": self.alpha, "seed": self.random_state,
                             "numUserBlocks": int(als.getNumUserBlocks()), "numItemBlocks": int(als.getNumItemBlocks()),
                             "checkpointInterval": int(als.getCheckpointInterval())},
            "mapping": {
                "regularization": "regParam = regularization / mean positives per user (Spark's λ for a user "
                                  "or item with n positives is regParam * n)",
                "mean_positives_per_user": per_user,
                "alpha": "rating = max(weight - 1/alpha, 1e-6/alpha), so Spark's 1 + alpha*rating = alpha*weight",
            },
            "interactions": len(ratings), "session_seconds": round(session_seconds, 3),
            "fit_seconds": round(fit_seconds, 3),
        }
        return self

    def training_notes(self) -> dict[str, Any]:
        return {"engine": self.notes_}

    def item_vectors(self) -> np.ndarray:
        return self.item_factors_

    def user_vectors(self) -> np.ndarray:
        return self.user_factors_


__all__ = ["DEFAULT_MASTER", "SparkALS", "SparkALSParams", "SparkUnavailable", "spark_problem", "spark_session"]
