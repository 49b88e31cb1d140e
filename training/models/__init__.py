"""Algorithms behind one interface; ``make_algorithm`` builds one by name."""

from __future__ import annotations

from typing import Any

from training.models.base import Recommender
from training.models.baselines import ContentCosine, Popularity
from training.models.lightfm_hybrid import LightFMHybrid
from training.models.matrix_factorization import ImplicitALS, ImplicitBPR

ALGORITHMS: dict[str, type[Recommender]] = {
    "lightfm": LightFMHybrid,
    "als": ImplicitALS,
    "bpr": ImplicitBPR,
    "popularity": Popularity,
    "content": ContentCosine,
}


def make_algorithm(name: str, **params: Any) -> Recommender:
    try:
        cls = ALGORITHMS[name]
    except KeyError:
        raise ValueError(
            f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}"
        ) from None
    return cls(**params)


__all__ = ["ALGORITHMS", "Recommender", "make_algorithm"]
