"""The search space: the metric, the families the data allow and their parameter draws, and
the choice a search returns (one configuration, or a blend of several)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import scipy.sparse as sp

from training.configs import ModelConfig, model_for
from training.data_io import WorkbenchData
from training.dataset import InteractionData
from training.models.base import Recommender
from training.models.blend import ScoreBlend
from training.recipes import config_data

RANKING_METRICS = ("precision", "recall", "ndcg", "map")
# a LightFM fit with text features was about this many times a plain one before the cost
# was cut (issue 21); it is the first guess of a family that has not run yet
UNSEEN_COST_FACTOR = 3.0
# the share of the budget kept for blends (they fit nothing, so they are quick)
BLEND_SHARE = 0.1
# estimates are crude (a LightFM fit's sampling cost varies with its learning rate): a
# candidate is launched only if this multiple of its estimate fits in what is left
SAFETY = 1.25
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
