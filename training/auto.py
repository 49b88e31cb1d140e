"""Automatic model selection: search the algorithm families and their main parameters on
validation data carved from the training part only, within a time budget.

Named configurations were tuned on MovieLens and do not transfer (issue 21): on a
platform's own data the best family and its parameters differ. :func:`auto_search`
therefore tries every family the data allow (popularity, content, EASE, implicit's ALS
and BPR, LightFM without and with features and text components), then spends the rest of
the budget on optuna (TPE, seeded) studies of the most promising families, and finally on
blends of the best model of each family, which cost no new fit (the fitted models are
kept). The winner is what scores best on the validation metric.

It is given the training part and nothing else: the data it searches on has the training
interactions only (:func:`training_only`), so the test part can neither be read nor
leak through the features' "seen items".

The budget is checked before each launch against an estimate of the candidate's cost (its
family's slowest run so far), so the search stops launching once the budget is spent; the
clock is injectable so this is tested without waiting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from training.configs import ModelConfig, model_for
from training.data_io import WorkbenchData
from training.dataset import InteractionData
from training.evaluate import evaluate_model
from training.models.base import Recommender
from training.models.blend import ScoreBlend
from training.recipes import config_data
from training.splits import random_split, time_split

RANKING_METRICS = ("precision", "recall", "ndcg", "map")
# a LightFM fit with text features was about this many times a plain one before the cost
# was cut (issue 21); it is the first guess of a family that has not run yet
_UNSEEN_COST_FACTOR = 3.0
# the share of the budget kept for blends (they fit nothing, so they are quick)
_BLEND_SHARE = 0.1
# estimates are crude (a LightFM fit's sampling cost varies with its learning rate): a
# candidate is launched only if this multiple of its estimate fits in what is left
_SAFETY = 1.25
# validation users scored per fold at most: the metric's noise is far below the gaps
# between families well before this, and scoring is a large part of a candidate's cost
MAX_VALIDATION_USERS = 5000
# EASE inverts a basis x basis matrix: beyond this many items only the most popular form the basis
EASE_MAX_BASIS = 4000


def parse_metric(metric: str) -> tuple[str, int]:
    """``ndcg@10`` -> ("ndcg", 10); raises ValueError naming what is allowed."""
    name, sep, raw_k = metric.partition("@")
    if not sep or name not in RANKING_METRICS or not raw_k.isdigit() or int(raw_k) < 1:
        raise ValueError(f"{metric!r}: choose one of {', '.join(f'{m}@K' for m in RANKING_METRICS)}, e.g. ndcg@10")
    return name, int(raw_k)


# ----------------------------------------------------------------------------- choices
@dataclass(frozen=True)
class AutoChoice:
    """What the search picked: one configuration, or a blend of several (``weights``)."""

    parts: tuple[ModelConfig, ...]
    weights: tuple[float, ...] | None = None

    @property
    def name(self) -> str:
        if self.weights is None:
            return self.parts[0].name
        return " + ".join(f"{w:g} x {p.name}" for p, w in zip(self.parts, self.weights))

    @property
    def algorithm(self) -> str:
        return "blend" if self.weights is not None else self.parts[0].algorithm

    @property
    def data_config(self) -> ModelConfig:
        """The part whose feature recipe the dataset is built with (a blend has at most one
        part with features: every part trains on one dataset)."""
        featured = [p for p in self.parts if p.item_parts or p.user_parts]
        return featured[0] if featured else self.parts[0]

    @property
    def needs_text(self) -> bool:
        return any(p.needs_text for p in self.parts)

    def build(self, random_state: int, threads: int) -> Recommender:
        models = [model_for(p, random_state, threads) for p in self.parts]
        if self.weights is None:
            return models[0]
        return ScoreBlend(models, list(self.weights))

    def data(self, wb: WorkbenchData, train: sp.csr_matrix, random_state: int) -> InteractionData:
        return config_data(wb, self.data_config, train, random_state)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "algorithm": self.algorithm,
                "weights": None if self.weights is None else list(self.weights),
                "parts": [config_json(p) for p in self.parts]}


def config_json(cfg: ModelConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"name": cfg.name, "algorithm": cfg.algorithm, "params": dict(cfg.params)}
    if cfg.item_parts:
        out.update(item_parts=list(cfg.item_parts), text_components=cfg.text_components, text_share=cfg.text_share)
    if cfg.user_parts:
        out["user_parts"] = list(cfg.user_parts)
    if cfg.item_parts or cfg.user_parts:
        out["feature_weight"] = cfg.feature_weight
    return out


# ----------------------------------------------------------------------------- families
@dataclass
class Family:
    """One algorithm family: its first candidate and how a trial draws others."""

    name: str
    first: ModelConfig
    draw: Callable[[Any], ModelConfig] | None = None  # optuna trial -> candidate
    featured: bool = False  # uses side features (at most one such part per blend)


def _lightfm_params(trial: Any) -> dict[str, Any]:
    return {
        "no_components": trial.suggest_int("no_components", 32, 128, step=32),
        "loss": "warp",
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
        "epochs": trial.suggest_int("epochs", 10, 60, step=10),
        "max_sampled": trial.suggest_int("max_sampled", 10, 50, step=10),
    }


def families(wb: WorkbenchData, include: Sequence[str] | None = None) -> list[Family]:
    """The families these data allow, cheapest first (content and text need texts, the
    feature families need given features)."""
    n_items = wb.data.shape[1]
    basis = min(n_items, EASE_MAX_BASIS)
    has_text = wb.data.item_embeddings is not None
    item_feats = bool(wb.item_features)
    user_feats = bool(wb.user_features)
    out: list[Family] = [Family("popularity", ModelConfig("popularity", "popularity"))]
    if has_text:
        out.append(Family("content", ModelConfig("content", "content")))

    bases = sorted({min(n_items, b) for b in (EASE_MAX_BASIS // 2, EASE_MAX_BASIS, 2 * EASE_MAX_BASIS)})

    def ease(trial: Any) -> ModelConfig:
        lam = trial.suggest_float("regularization", 5.0, 5000.0, log=True)
        size = trial.suggest_categorical("max_items", bases) if len(bases) > 1 else basis
        return ModelConfig("ease", "ease", {"regularization": round(lam, 2), "max_items": size})

    out.append(Family("ease", ModelConfig("ease", "ease", {"regularization": 250.0, "max_items": basis}), ease))

    # binary confidences x alpha: on sparse data (yelp-p5, median 9 users per item) more factors
    # (128-256) and a stronger alpha (30-60) beat the reference's 64 x 10 on validation, so the
    # space reaches both well past it
    def als(trial: Any) -> ModelConfig:
        return ModelConfig("als", "als", {
            "factors": trial.suggest_int("factors", 32, 256, step=32),
            "regularization": trial.suggest_float("regularization", 0.01, 100.0, log=True),
            "alpha": trial.suggest_float("alpha", 1.0, 100.0, log=True),
            "iterations": trial.suggest_int("iterations", 10, 30, step=5),
            "binary": True,
        })

    out.append(Family("als", ModelConfig("als", "als", {"factors": 64, "regularization": 0.05, "alpha": 10.0,
                                                        "iterations": 15, "binary": True}), als))

    def bpr(trial: Any) -> ModelConfig:
        return ModelConfig("bpr", "bpr", {
            "factors": trial.suggest_int("factors", 32, 128, step=32),
            "learning_rate": trial.suggest_float("learning_rate", 0.005, 0.1, log=True),
            "regularization": trial.suggest_float("regularization", 1e-4, 0.1, log=True),
            "iterations": trial.suggest_int("iterations", 50, 200, step=50),
        })

    out.append(Family("bpr", ModelConfig("bpr", "bpr", {"factors": 64, "learning_rate": 0.01,
                                                        "regularization": 0.01, "iterations": 100}), bpr))
    plain = {"use_item_features": False, "use_user_features": False}

    def lightfm(trial: Any) -> ModelConfig:
        return ModelConfig("lightfm", "lightfm", {**_lightfm_params(trial), **plain})

    out.append(Family("lightfm", ModelConfig("lightfm", "lightfm", {
        "no_components": 64, "loss": "warp", "learning_rate": 0.05, "epochs": 40, "max_sampled": 10, **plain}),
        lightfm))
    item_parts = ("identity", "features") if item_feats else ("identity",)
    user_parts = ("identity", "features") if user_feats else ()
    if item_feats or user_feats:
        def featured(trial: Any) -> ModelConfig:
            return ModelConfig("lightfm-features", "lightfm", _lightfm_params(trial), item_parts, user_parts,
                               feature_weight=round(trial.suggest_float("feature_weight", 0.05, 1.0, log=True), 3))

        out.append(Family("lightfm-features", ModelConfig(
            "lightfm-features", "lightfm", {"no_components": 64, "loss": "warp", "learning_rate": 0.05, "epochs": 40,
                                            "max_sampled": 10}, item_parts, user_parts, feature_weight=0.2),
            featured, featured=True))
    if has_text:
        text_parts = (*item_parts, "text-pca")

        def hybrid(trial: Any) -> ModelConfig:
            return ModelConfig(
                "hybrid-text", "lightfm", _lightfm_params(trial), text_parts, user_parts,
                text_components=trial.suggest_categorical("text_components", [4, 8, 16]),
                text_share=round(trial.suggest_float("text_share", 0.05, 0.5), 3),
                feature_weight=round(trial.suggest_float("feature_weight", 0.05, 1.0, log=True), 3))

        out.append(Family("hybrid-text", ModelConfig(
            "hybrid-text", "lightfm", {"no_components": 64, "loss": "warp", "learning_rate": 0.05, "epochs": 40,
                                       "max_sampled": 10}, text_parts, user_parts,
            text_components=4, text_share=0.2, feature_weight=0.2), hybrid, featured=True))
    if include is not None:
        unknown = [f for f in include if f not in {fam.name for fam in out} | set(ALL_FAMILIES)]
        if unknown:
            raise ValueError(f"unknown family {', '.join(unknown)}; choose from {', '.join(ALL_FAMILIES)}")
        out = [f for f in out if f.name in include]
    return out


ALL_FAMILIES = ("popularity", "content", "ease", "als", "bpr", "lightfm", "lightfm-features", "hybrid-text")


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


def auto_search(
    wb: WorkbenchData,
    train: sp.csr_matrix,
    *,
    metric: str = "ndcg@10",
    budget_seconds: float = 900.0,
    seed: int = 42,
    threads: int = 1,
    folds: int = 1,
    timestamps: sp.csr_matrix | None = None,
    include: Sequence[str] | None = None,
    max_trials_per_family: int = 40,
    clock: Callable[[], float] = time.monotonic,
    on_trial: Callable[[Trial], None] | None = None,
    runner: Runner | None = None,
) -> SearchResult:
    """Search the families on validation folds of ``train`` and return the best candidate.

    ``runner`` fits and scores one candidate on the folds (injectable for tests); by
    default :func:`_run_candidate`. ``clock`` gives seconds (injectable likewise).
    ``timestamps`` (the training part's times, :func:`training_timestamps`) makes the
    validation a time split of the training part.
    """
    import optuna

    name, k = parse_metric(metric)
    key = f"{name}@{k}"
    if budget_seconds <= 0:
        raise ValueError("the budget must be above 0")
    wb_train = training_only(wb, train)
    fams = families(wb_train, include)
    if not fams:
        raise ValueError("no family to search on these data")
    fold_list = validation_folds(train, folds, seed, timestamps=timestamps)
    if not any(f.test.nnz for f in fold_list):
        raise ValueError("the training part is too small to carve a validation split from")

    def default_runner(choice: AutoChoice, fs: list[Fold]) -> Outcome:
        return _run_candidate(wb_train, choice, fs, key, k, seed, threads)

    run = runner or default_runner
    start = clock()
    trials: list[Trial] = []
    cost: dict[str, float] = {}
    best_of: dict[str, tuple[float, AutoChoice, list[Recommender]]] = {}
    skipped: list[str] = []

    def elapsed() -> float:
        return clock() - start

    def estimate(family: str, cfg: ModelConfig) -> float:
        """Seconds ``cfg`` should take: its family's slowest seconds per unit of work so far
        times its work (epochs x components...), so a larger draw is not taken for a cheap one."""
        if family in cost:
            return cost[family] * work(cfg)
        if family in ("lightfm-features", "hybrid-text") and "lightfm" in cost:
            return cost["lightfm"] * work(cfg) * _UNSEEN_COST_FACTOR
        return 0.0

    def fits(family: str, cfg: ModelConfig, until: float) -> bool:
        spent = elapsed()
        return spent < until and spent + _SAFETY * estimate(family, cfg) <= until

    def launch(family: Family, cfg: ModelConfig, label: str) -> float | None:
        choice = AutoChoice((cfg,))
        began = clock()
        try:
            got = run(choice, fold_list)
            outcome = got if isinstance(got, Outcome) else Outcome(choice, got[0], got[1])
            status = "ok"
        except (ValueError, MemoryError, np.linalg.LinAlgError) as exc:  # one bad candidate never ends the search
            outcome, status = Outcome(choice, None, []), f"failed: {exc}"
        seconds = clock() - began
        # the work actually done: a staged fit stopped early trained fewer epochs than drawn
        cost[family.name] = max(cost.get(family.name, 0.0), seconds / work(cfg, max(outcome.stages, default=None)))
        score, models, choice = outcome.score, outcome.models, outcome.choice
        trial = Trial(label, family.name, choice, score, seconds, status, outcome.stages)
        trials.append(trial)
        if on_trial:
            on_trial(trial)
        if score is not None and (family.name not in best_of or score > best_of[family.name][0]):
            best_of[family.name] = (score, choice, models)
        return score

    tuning_until = budget_seconds * (1.0 - _BLEND_SHARE)
    # 1. every family's first candidate, cheapest families first
    for fam in fams:
        if fits(fam.name, fam.first, tuning_until):
            launch(fam, fam.first, f"{fam.name}#0")
        else:
            skipped.append(fam.name)
    # 2. optuna studies of the families that ran, the best families most often
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    studies = {}
    for n, fam in enumerate(fams):
        if fam.draw is None or fam.name not in best_of:
            continue
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed + n))
        studies[fam.name] = (fam, study, [0])
    stopped = "every family's trials were run"
    round_ = 0
    idle_rounds = 0
    while studies and elapsed() < tuning_until:
        ranked = sorted(studies, key=lambda f: -best_of[f][0] if f in best_of else math.inf)
        # the top family gets a trial every round, the second every other round, the rest every fourth
        chosen = [f for i, f in enumerate(ranked) if i == 0 or (i == 1 and round_ % 2 == 0) or round_ % 4 == 0]
        launched = False
        for fam_name in chosen:
            fam, study, count = studies[fam_name]
            if count[0] >= max_trials_per_family:
                del studies[fam_name]
                continue
            asked = study.ask()
            assert fam.draw is not None
            cfg = fam.draw(asked)
            count[0] += 1
            if not fits(fam_name, cfg, tuning_until):
                # too costly for what is left: not run, and the study learns nothing from it
                study.tell(asked, state=optuna.trial.TrialState.FAIL)
                continue
            score = launch(fam, cfg, f"{fam_name}#{count[0]}")
            study.tell(asked, score if score is not None else float("-inf"))
            launched = True
        idle_rounds = 0 if launched else idle_rounds + 1
        if idle_rounds >= 4:  # every family has drawn only candidates too costly for what is left
            break
        round_ += 1
    if elapsed() >= tuning_until or idle_rounds >= 4:
        stopped = "budget spent"
    # 3. blends of the best model of each family (no new fit)
    ranked_best = sorted(best_of.items(), key=lambda item: -item[1][0])
    blend_pool = [(fam_name, entry) for fam_name, entry in ranked_best if fam_name != "popularity"][:3]
    featured = {f.name for f in fams if f.featured}
    for i in range(len(blend_pool)):
        for j in range(i + 1, len(blend_pool)):
            (fa, (_sa, ca, ma)), (fb, (_sb, cb, mb)) = blend_pool[i], blend_pool[j]
            if fa in featured and fb in featured:
                continue  # one dataset per blend: at most one part with side features
            # the even blend of the two best families comes first and is always scored (it
            # fits nothing: seconds), so an overrunning last candidate cannot cost the blends
            for wa in (0.5, 0.3, 0.7):
                first = i == 0 and j == 1 and wa == 0.5
                if elapsed() >= budget_seconds and not first:
                    stopped = "budget spent"
                    break
                choice = AutoChoice((ca.parts[0], cb.parts[0]), (wa, round(1.0 - wa, 2)))
                began = clock()
                try:
                    score = _score_blend(wb_train, choice, fold_list, [ma, mb], key, k, seed)
                    status = "ok"
                except (ValueError, MemoryError) as exc:
                    score, status = None, f"failed: {exc}"
                row = Trial(f"blend:{fa}+{fb}@{wa:g}", "blend", choice, score, clock() - began, status)
                trials.append(row)
                if on_trial:
                    on_trial(row)
    scored = [t for t in trials if t.score is not None]
    if not scored:
        raise ValueError("no candidate could be scored: " + "; ".join(t.status for t in trials) if trials
                         else "the budget was too small to run any candidate")
    best = max(scored, key=lambda t: float(t.score or 0.0))
    how = ("each user's latest 20% of the training part" if timestamps is not None else
           f"{len(fold_list)} per-user random 20% holdout(s) of the training part (seeds {seed + 1}..{seed + len(fold_list)})")
    return SearchResult(key, budget_seconds, elapsed(), len(fold_list),
                        f"{how}, at most {MAX_VALIDATION_USERS} users scored", trials, best, stopped, skipped)


def work(cfg: ModelConfig, epochs: int | None = None) -> float:
    """A candidate's work relative to its family's first candidate (epochs x components
    for LightFM, iterations x factors for ALS and BPR; 1 for the closed-form families);
    ``epochs``: the epochs a staged fit actually trained."""
    p = cfg.params
    if cfg.algorithm == "lightfm":
        trained = float(epochs if epochs is not None else p.get("epochs", 20))
        return max(trained * float(p.get("no_components", 64)) / (20 * 64), 0.05)
    if cfg.algorithm == "als":
        return max(float(p.get("iterations", 15)) * float(p.get("factors", 64)) / (15 * 64), 0.05)
    if cfg.algorithm == "bpr":
        return max(float(p.get("iterations", 100)) * float(p.get("factors", 64)) / (100 * 64), 0.05)
    if cfg.algorithm == "ease":  # the inverse of a basis x basis matrix dominates
        return max((float(p.get("max_items", EASE_MAX_BASIS)) / EASE_MAX_BASIS) ** 3, 0.05)
    return 1.0


def _run_candidate(
    wb: WorkbenchData, choice: AutoChoice, folds: list[Fold], key: str, k: int, seed: int, threads: int,
) -> Outcome:
    """Fit ``choice`` on each fold's training part and score it on the fold's users.

    A LightFM candidate is fitted in stages of :data:`STAGE_EPOCHS` epochs and scored after
    each (early stopping: :data:`PATIENCE` stages below its best end the fit); the outcome
    is its best epoch count, whose vectors are kept for blends.
    """
    cfg = choice.parts[0]
    epochs = int(cfg.params.get("epochs", 0)) if cfg.algorithm == "lightfm" and choice.weights is None else 0
    if epochs <= STAGE_EPOCHS:
        values, models = [], []
        for fold in folds:
            model = choice.build(seed, threads).fit(choice.data(wb, fold.train, seed))
            values.append(evaluate_model(model, fold.train, fold.test, k=k, users=fold.users, auc=False)[key])
            models.append(model)
        finite = [v for v in values if np.isfinite(v)]
        return Outcome(choice, float(np.mean(finite)) if finite else None, models)
    stages = list(range(STAGE_EPOCHS, epochs, STAGE_EPOCHS)) + [epochs]
    per_fold: list[dict[int, float]] = []
    kept: list[dict[int, Recommender]] = []
    for fold in folds:
        model = choice.build(seed, threads)
        scores: dict[int, float] = {}
        frozen: dict[int, Recommender] = {}

        def after(done: int, model: Any = model, fold: Fold = fold, scores: dict[int, float] = scores,
                  frozen: dict[int, Recommender] = frozen) -> bool:
            value = float(evaluate_model(model, fold.train, fold.test, k=k, users=fold.users, auc=False)[key])
            scores[done] = value
            if value >= max(scores.values()):
                frozen.clear()
                frozen[done] = _Fitted(model, snapshot=True)
            below = [e for e in sorted(scores) if e > max(scores, key=lambda x: scores[x])]
            return len(below) < PATIENCE

        staged = getattr(model, "fit_in_stages", None)
        if staged is None:
            raise ValueError(f"{cfg.name}: {type(model).__name__} cannot be fitted in stages")
        staged(choice.data(wb, fold.train, seed), stages, after)
        per_fold.append(scores)
        kept.append(frozen)
    common = sorted(set.intersection(*(set(s) for s in per_fold)))
    mean = {e: float(np.mean([s[e] for s in per_fold])) for e in common}
    best = max(mean, key=lambda e: mean[e])
    best_cfg = replace(cfg, params={**cfg.params, "epochs": best})
    # each fold's model at its own best stage (the same stage when there is one fold)
    models = [next(iter(f.values())) for f in kept]
    return Outcome(AutoChoice((best_cfg,)), mean[best], models, mean)


def _score_blend(
    wb: WorkbenchData, choice: AutoChoice, folds: list[Fold], fitted: list[list[Recommender]], key: str, k: int,
    seed: int,
) -> float | None:
    assert choice.weights is not None
    values = []
    for f, fold in enumerate(folds):
        # only the fold's scored users: each user's standardisation is their own, and the
        # items' centring comes from the whole fold, so these users' blended scores are
        # exactly the full blend's, for a fraction of the cost on a large user base
        rows = fold.users
        blend = ScoreBlend([_Fitted(models[f], rows=rows) for models in fitted], list(choice.weights))
        blend.fit(InteractionData(wb.data.user_ids, wb.data.item_ids, fold.train.tocsr()))
        train_rows, test_rows = fold.train.tocsr()[rows], fold.test.tocsr()[rows]
        values.append(evaluate_model(blend, train_rows, test_rows, k=k, auc=False)[key])
    return float(np.mean(values)) if values else None


def _settings_text(cfg: ModelConfig) -> str:
    """A candidate's parameters and, for a feature family, its recipe, on one line."""
    shown = {kk: (f"{v:.4g}" if isinstance(v, float) else v) for kk, v in cfg.params.items()
             if kk not in ("use_item_features", "use_user_features", "loss")}
    if "text-pca" in cfg.item_parts:
        shown.update(text_components=cfg.text_components, text_share=cfg.text_share)
    if cfg.item_parts or cfg.user_parts:
        shown["feature_weight"] = cfg.feature_weight
    return ", ".join(f"{kk}={v}" for kk, v in shown.items())


def leaderboard_text(result: SearchResult, top: int = 15) -> str:
    """The best candidates, one line each, best first."""
    board = result.leaderboard()[:top]
    width = max([len(t.name) for t in board] + [9])
    lines = [f"{'candidate':<{width}}  {'family':<16} {result.metric:>9} {'seconds':>8}  parameters"]
    for t in board:
        params = "; ".join(f"{p.name}: {_settings_text(p)}" for p in t.choice.parts)
        if t.choice.weights is not None:
            params = f"weights {list(t.choice.weights)}; {params}"
        mark = "*" if t is result.best else " "
        lines.append(f"{t.name:<{width}}{mark} {t.family:<16} {float(t.score or 0.0):>9.4f} {t.seconds:>8.1f}  {params}")
    failed = [t for t in result.trials if t.score is None]
    if failed:
        lines.append(f"({len(failed)} candidate(s) failed: {failed[0].name}: {failed[0].status})")
    return "\n".join(lines)
