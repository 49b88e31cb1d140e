"""What a search is given and how it measures: the training-only view of the data, the
validation folds carved from it, a fitted candidate, a trial and the search's result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.auto.space import MAX_VALIDATION_USERS, AutoChoice
from training.data_io import WorkbenchData
from training.dataset import InteractionData
from training.models.base import Recommender
from training.splits import random_split, time_split


# ----------------------------------------------------------------------------- search
@dataclass
class Trial:
    """One candidate's run on the validation folds (a leaderboard row)."""

    name: str
    family: str
    choice: AutoChoice
    score: float | None
    seconds: float
    status: str = "ok"  # ok | failed: <reason>
    stages: dict[int, float] = field(default_factory=dict)  # epochs -> score, for a staged LightFM fit

    def to_json(self) -> dict[str, Any]:
        out = {"name": self.name, "family": self.family, "score": self.score, "seconds": round(self.seconds, 2),
               "status": self.status, **{k: v for k, v in self.choice.to_json().items() if k != "name"}}
        if self.stages:
            out["score_by_epochs"] = {str(e): round(v, 6) for e, v in sorted(self.stages.items())}
        return out


@dataclass
class SearchResult:
    metric: str
    budget_seconds: float
    spent_seconds: float
    folds: int
    validation: str
    trials: list[Trial]
    best: Trial
    stopped: str  # why the search ended
    skipped: list[str] = field(default_factory=list)  # families never launched for lack of budget

    def leaderboard(self) -> list[Trial]:
        return sorted([t for t in self.trials if t.score is not None], key=lambda t: -float(t.score or 0.0))

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "budget_seconds": self.budget_seconds,
                "spent_seconds": round(self.spent_seconds, 1), "folds": self.folds, "validation": self.validation,
                "stopped": self.stopped, "skipped_families": self.skipped,
                "chosen": {**self.best.choice.to_json(), "score": self.best.score},
                "candidates": [t.to_json() for t in self.trials]}


@dataclass
class Fold:
    train: sp.csr_matrix
    test: sp.csr_matrix
    users: np.ndarray


def training_only(wb: WorkbenchData, train: sp.csr_matrix) -> WorkbenchData:
    """``wb`` with the training interactions only: no test matrix, no timestamps, no
    predefined split, so nothing downstream can reach what the search must not see."""
    d = wb.data
    data = InteractionData(d.user_ids, d.item_ids, train.tocsr(), d.user_features, d.user_feature_names,
                           d.item_features, d.item_feature_names, d.item_embeddings, d.cluster_centroids)
    return replace(wb, data=data, timestamps=None, predefined=None)


def training_timestamps(wb: WorkbenchData, train: sp.csr_matrix) -> sp.csr_matrix:
    """The times of ``train``'s interactions, entry by entry (what a time split of the
    training part needs); raises ValueError when the data have no times."""
    if wb.timestamps is None:
        raise ValueError("time validation needs timestamps: add a timestamp column to the interactions")
    coo = train.tocsr().tocoo()
    values = np.asarray(wb.timestamps.tocsr()[coo.row, coo.col], dtype=np.float64).ravel()
    out = sp.csr_matrix((values, (coo.row, coo.col)), shape=train.shape)
    out.sort_indices()
    return out


def validation_folds(
    train: sp.csr_matrix, folds: int, seed: int, max_users: int = MAX_VALIDATION_USERS,
    timestamps: sp.csr_matrix | None = None,
) -> list[Fold]:
    """Per-user 20% holdouts of the training part (seeds ``seed+1..``), each scored on at
    most ``max_users`` users drawn with the fold's seed. With ``timestamps`` (the training
    part's times), the holdout is each user's latest 20% instead, as a time-split test
    would be; it has no seed, so there is one such fold."""
    out = []
    for f in range(1 if timestamps is not None else folds):
        if timestamps is not None:
            vtrain, vtest = time_split(train.tocsr(), timestamps, 0.2)
        else:
            vtrain, vtest = random_split(train, 0.2, seed + 1 + f)
        users = np.flatnonzero(np.diff(vtest.tocsr().indptr) > 0)
        if len(users) > max_users:
            users = np.sort(np.random.default_rng(seed + 1 + f).choice(users, max_users, replace=False))
        out.append(Fold(vtrain, vtest, users))
    return out


class _Fitted(Recommender):
    """A model already fitted on a fold, entered into a blend without fitting it again;
    ``snapshot`` copies its vectors now (a staged fit goes on training the model itself)."""

    def __init__(self, model: Recommender, snapshot: bool = False, rows: np.ndarray | None = None) -> None:
        self.model = model
        self.name = model.name
        self.params = model.get_params()
        self.rows = rows  # only these users' vectors (a blend is scored on the sampled validation users)
        self.frozen: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
        if snapshot:
            self.frozen = (model.item_vectors(), model.user_vectors(), model.item_feature_vectors())

    def fit(self, data: InteractionData) -> _Fitted:
        return self

    def item_vectors(self) -> np.ndarray:
        return self.model.item_vectors() if self.frozen is None else self.frozen[0]

    def user_vectors(self) -> np.ndarray:
        if isinstance(self.model, _Fitted):
            inner = _Fitted(self.model.model, rows=self.rows) if self.model.frozen is None else None
            users = inner.user_vectors() if inner is not None else self.model.user_vectors()
            return users if inner is not None or self.rows is None else users[self.rows]
        if self.frozen is not None:
            return self.frozen[1] if self.rows is None else self.frozen[1][self.rows]
        if self.rows is None:
            return self.model.user_vectors()
        some = getattr(self.model, "user_vectors_of", None)  # EASE builds only the rows asked for
        return some(self.rows) if some is not None else self.model.user_vectors()[self.rows]

    def item_feature_vectors(self) -> np.ndarray | None:
        return self.model.item_feature_vectors() if self.frozen is None else self.frozen[2]

    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        if self.frozen is None:
            return self.model.scores(user_rows)
        return self.frozen[1][user_rows] @ self.frozen[0].T

    def get_params(self) -> dict[str, Any]:
        return self.params


@dataclass
class Outcome:
    """A candidate's validation result: its score, its fitted models (one per fold, kept for
    blends) and, for a staged LightFM fit, the score at each epoch count it reached (the
    choice then names the best epoch count)."""

    choice: AutoChoice
    score: float | None
    models: list[Recommender]
    stages: dict[int, float] = field(default_factory=dict)


Runner = Callable[[AutoChoice, list[Fold]], "tuple[float | None, list[Recommender]] | Outcome"]
# a LightFM candidate is scored every this many epochs, and stopped after two stages below its best
STAGE_EPOCHS = 10
PATIENCE = 2
