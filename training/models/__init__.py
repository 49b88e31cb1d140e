"""Algorithms behind one interface; ``make_algorithm`` builds one by name."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from training.models.base import Recommender
from training.models.baselines import ContentCosine, Popularity
from training.models.ease import EASE
from training.models.lightfm_hybrid import LightFMHybrid
from training.models.matrix_factorization import ImplicitALS, ImplicitBPR
from training.models.params import ParamError
from training.models.spark_als import SparkALS

ALGORITHMS: dict[str, type[Recommender]] = {
    "lightfm": LightFMHybrid,
    "als": ImplicitALS,
    "bpr": ImplicitBPR,
    "popularity": Popularity,
    "content": ContentCosine,
    "ease": EASE,
}

# Where a model is fitted: "local" (the libraries above, in this process) or "spark" (Spark
# MLlib, for data past one machine; PySpark is imported only when such a model is fitted).
# An engine's model belongs to the same algorithm family: its versions record that name.
ENGINES: dict[str, dict[str, type[Recommender]]] = {
    "local": ALGORITHMS,
    "spark": {"als": SparkALS},
}


def algorithm_class(name: str, engine: str = "local") -> type[Recommender]:
    """The class that fits algorithm ``name`` on ``engine``; ValueError naming the choices."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    classes = ENGINES[engine]
    if name not in classes:
        if engine == "local":
            raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}")
        raise ValueError(f"the {engine} engine trains {', '.join(classes)} only, not {name}")
    return classes[name]


def with_run_settings(
    name: str, params: Mapping[str, Any], random_state: int, threads: int, *, threads_win: bool = False,
    engine: str = "local",
) -> dict[str, Any]:
    """``params`` with the run's seed and thread count where algorithm ``name`` takes them.

    The one place they are injected: the seed only where none is given; the threads
    likewise, or always with ``threads_win`` (a named configuration runs on the run's
    threads, whatever it was defined with).
    """
    accepted = inspect.signature(algorithm_class(name, engine).__init__).parameters
    out = dict(params)
    if "random_state" in accepted:
        out.setdefault("random_state", random_state)
    if "threads" in accepted:
        if threads_win:
            out["threads"] = threads
        else:
            out.setdefault("threads", threads)
    return out


def make_algorithm(name: str, engine: str = "local", **params: Any) -> Recommender:
    return algorithm_class(name, engine)(**params)


def check_params(name: str, params: Mapping[str, Any], engine: str = "local") -> dict[str, Any]:
    """``params`` checked against algorithm ``name``'s parameter model (on ``engine``) and
    coerced to its types; raises :class:`ParamError` naming each bad parameter, before
    anything is fitted."""
    return algorithm_class(name, engine).params_model.check(params)


__all__ = ["ALGORITHMS", "ENGINES", "ParamError", "Recommender", "algorithm_class", "check_params",
           "make_algorithm", "with_run_settings"]
