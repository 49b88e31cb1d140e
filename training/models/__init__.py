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

ALGORITHMS: dict[str, type[Recommender]] = {
    "lightfm": LightFMHybrid,
    "als": ImplicitALS,
    "bpr": ImplicitBPR,
    "popularity": Popularity,
    "content": ContentCosine,
    "ease": EASE,
}


def with_run_settings(
    name: str, params: Mapping[str, Any], random_state: int, threads: int, *, threads_win: bool = False,
) -> dict[str, Any]:
    """``params`` with the run's seed and thread count where algorithm ``name`` takes them.

    The one place they are injected: the seed only where none is given; the threads
    likewise, or always with ``threads_win`` (a named configuration runs on the run's
    threads, whatever it was defined with).
    """
    accepted = inspect.signature(ALGORITHMS[name].__init__).parameters
    out = dict(params)
    if "random_state" in accepted:
        out.setdefault("random_state", random_state)
    if "threads" in accepted:
        if threads_win:
            out["threads"] = threads
        else:
            out.setdefault("threads", threads)
    return out


def make_algorithm(name: str, **params: Any) -> Recommender:
    try:
        cls = ALGORITHMS[name]
    except KeyError:
        raise ValueError(
            f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}"
        ) from None
    return cls(**params)


def check_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` checked against algorithm ``name``'s parameter model and coerced to its
    types; raises :class:`ParamError` naming each bad parameter, before anything is fitted."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name].params_model.check(params)


__all__ = ["ALGORITHMS", "ParamError", "Recommender", "check_params", "make_algorithm", "with_run_settings"]
