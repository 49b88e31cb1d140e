"""Named model configurations: an algorithm, its parameters and the features it sees, and
how one is built into a model.

Keeping the raw-library references (``lightfm-ref``, ``als-ref``...) as configurations
next to Solace's tuned hybrids lets one ``solace evaluate --compare`` run put them side by
side on the same split, with the same metric code, so a claimed gain is measured, not
asserted; ``solace train --config`` trains exactly what was measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from training.data_io import WorkbenchData
from training.models import Recommender, algorithm_class, make_algorithm, with_run_settings
from training.models.blend import ScoreBlend
from training.models.lightfm_hybrid import LIGHTFM_DEFAULTS
from training.models.new_items import NewItemsFromFeatures
from training.models.params import AlgorithmParams, ParamError

# Item feature recipe parts: the item's own id, the given features (genres for MovieLens),
# reduced components of the text embedding, or k-means clusters of it.
ITEM_PARTS = ("identity", "features", "text-pca", "text-clusters")


USER_PARTS = ("identity", "features")


@dataclass(frozen=True)
class ModelConfig:
    """What to train: an algorithm, its parameters, and which features it may use.

    ``item_parts``/``user_parts`` empty means no side features at all (pure collaborative
    filtering, as the libraries run out of the box). ``text_share`` is the share of an
    item's feature row given to the dense text components, the rest to the sparse part.
    """

    name: str
    algorithm: str
    params: Mapping[str, Any] = field(default_factory=dict)
    item_parts: tuple[str, ...] = ()
    user_parts: tuple[str, ...] = ()
    text_components: int = 16
    text_clusters: int = 50
    text_share: float = 0.5
    feature_weight: float | None = None
    description: str = ""
    engine: str = "local"  # where it is fitted: "local", or "spark" (Spark MLlib, docs/spark.md)

    @property
    def needs_text(self) -> bool:
        return self.algorithm == "content" or any(p.startswith("text-") for p in self.item_parts)


TUNED_WARP = {"no_components": 64, "loss": "warp", "learning_rate": 0.02, "epochs": 60, "max_sampled": 50}


CONFIGS: dict[str, ModelConfig] = {c.name: c for c in (
    # raw-library references: library defaults except where the reference says otherwise
    ModelConfig("lightfm-ref", "lightfm",
                {"no_components": 10, "loss": "warp", "learning_rate": 0.05, "epochs": 10,
                 "max_sampled": 10, "use_item_features": False, "use_user_features": False},
                description="LightFM WARP, lr 0.05, 10 epochs, library defaults, no features"),
    ModelConfig("als-ref", "als", {"factors": 32, "regularization": 0.01, "alpha": 1.0, "iterations": 15},
                description="implicit ALS, 32 factors, library defaults"),
    # implicit's own MovieLens example: BM25 over the item-user matrix (B 0.9, K1 100) times 5
    ModelConfig("als-example-ref", "als",
                {"factors": 32, "regularization": 0.01, "alpha": 5.0, "iterations": 15,
                 "weighting": "bm25", "bm25_k1": 100.0, "bm25_b": 0.9},
                description="implicit ALS, 32 factors, weighted as implicit's MovieLens example (bm25_weight B 0.9, x5)"),
    ModelConfig("bpr-ref", "bpr", {"factors": 100, "learning_rate": 0.01, "regularization": 0.01, "iterations": 100},
                description="implicit BPR, library defaults"),
    # the references a practitioner would run today (issue 21): 64 factors, implicit's
    # confidence scaling (binary x 10), LightFM WARP for 20 epochs; the shared data sets'
    # READMEs quote their figures with exactly these settings
    ModelConfig("als-ref64", "als",
                {"factors": 64, "regularization": 0.05, "alpha": 10.0, "iterations": 15, "binary": True},
                description="implicit ALS, 64 factors, reg 0.05, binary confidences x 10, 15 iterations"),
    ModelConfig("lightfm-ref64", "lightfm",
                {"no_components": 64, "loss": "warp", "learning_rate": 0.05, "epochs": 20, "max_sampled": 10,
                 "use_item_features": False, "use_user_features": False},
                description="LightFM WARP, 64 components, lr 0.05, 20 epochs, no features"),
    # als-ref64's model fitted by Spark MLlib, its parameters mapped to implicit's meaning
    # (training.models.spark_als): the parity check of docs/spark.md; `--set spark-als.master=...`
    ModelConfig("spark-als", "als",
                {"factors": 64, "regularization": 0.05, "alpha": 10.0, "iterations": 15, "binary": True},
                engine="spark",
                description="als-ref64 trained on Spark MLlib (needs the spark extra and Java 17; master local[*])"),
    ModelConfig("bpr-ref64", "bpr", {"factors": 64, "learning_rate": 0.01, "regularization": 0.01, "iterations": 100},
                description="implicit BPR, 64 factors, library defaults otherwise"),
    ModelConfig("popularity", "popularity", description="number of users per item"),
    ModelConfig("content", "content", description="cosine to the mean text embedding of the user's items"),
    # Solace's defaults (what `solace train` uses) and tuned configurations
    ModelConfig("lightfm", "lightfm", dict(LIGHTFM_DEFAULTS),
                ("identity", "features"), ("identity", "features"),
                description="Solace default LightFM hybrid: ids plus given features"),
    ModelConfig("als", "als", {}, description="Solace default ALS"),
    ModelConfig("bpr", "bpr", {}, description="Solace default BPR"),
    ModelConfig("lightfm-tuned", "lightfm", {**TUNED_WARP, "use_item_features": False, "use_user_features": False},
                description="WARP tuned: 64 components, 60 epochs, lr 0.02, max_sampled 50, no features"),
    ModelConfig("hybrid", "lightfm", TUNED_WARP, ("identity", "features", "text-pca"), ("identity", "features"),
                text_components=16, text_share=0.2, feature_weight=0.2,
                description="tuned WARP: ids + features (0.2) + 16 text components (0.2); users: ids + demographics (0.2)"),
    ModelConfig("hybrid-norm", "lightfm", TUNED_WARP, ("identity", "features", "text-pca"), ("identity", "features"),
                text_components=16, text_share=0.3,
                description="as hybrid but with rows normalised to sum 1 (LightFM's usual advice)"),
    ModelConfig("hybrid-clusters", "lightfm", TUNED_WARP, ("identity", "features", "text-clusters"),
                ("identity", "features"),
                description="tuned WARP with ids, features and k-means(50) clusters of the text embedding"),
    ModelConfig("als-tuned", "als", {"factors": 64, "regularization": 25.0, "alpha": 2.5, "iterations": 30},
                description="implicit ALS tuned on a validation split of the training part: 64 factors, reg 25, alpha 2.5, 30 it."),
    ModelConfig("als-demographics", "als",
                {"factors": 64, "regularization": 25.0, "alpha": 2.5, "iterations": 30, "user_feature_weight": 0.5},
                (), ("identity", "features"), feature_weight=0.2,
                description="als-tuned with the users' features (demographics) as extra columns at confidence 0.5"),
    ModelConfig("als-bm25", "als",
                {"factors": 32, "regularization": 6.5, "alpha": 0.22, "iterations": 15,
                 "weighting": "bm25-users", "bm25_k1": 10.0, "bm25_b": 0.33},
                description="implicit ALS on BM25-weighted confidences (users as documents), tuned on validation"),
    ModelConfig("hybrid-als", "blend", {"parts": ["hybrid", "als-tuned"], "weights": [0.5, 0.5]},
                ("identity", "features", "text-pca"), ("identity", "features"),
                text_components=16, text_share=0.2, feature_weight=0.2,
                description="0.5 x hybrid + 0.5 x als-tuned, each score standardised per user; one dot product"),
    ModelConfig("hybrid-als-60", "blend", {"parts": ["hybrid", "als-tuned"], "weights": [0.6, 0.4]},
                ("identity", "features", "text-pca"), ("identity", "features"),
                text_components=16, text_share=0.2, feature_weight=0.2,
                description="0.6 x hybrid + 0.4 x als-tuned (weight chosen on validation), each score standardised per user"),
    ModelConfig("hybrid-als-demographics", "blend", {"parts": ["hybrid", "als-demographics"], "weights": [0.6, 0.4]},
                ("identity", "features", "text-pca"), ("identity", "features"),
                text_components=16, text_share=0.2, feature_weight=0.2,
                description="0.6 x hybrid + 0.4 x als-demographics (chosen on three validation folds), standardised per user"),
    ModelConfig("ease", "ease", {},  # EASE's own defaults: lambda 500, a basis of 5,000 items
                description="EASE (Steck 2019), closed-form item-item, lambda 500; basis: the 5,000 most popular items"),
    ModelConfig("hybrid-cold", "lightfm", {**TUNED_WARP, "epochs": 20}, ("features", "text-pca"), (),
                text_components=32, text_share=0.5,
                description="cold-start path: items only through features and 32 text components (no item ids)"),
)}


# the practitioners' references first, then Solace's own (add `auto` for the automatic choice)
DEFAULT_COMPARE = ("als-ref64", "lightfm-ref64", "popularity", "lightfm", "hybrid")


def resolve_configs(names: Sequence[str], overrides: Mapping[str, Mapping[str, Any]] | None = None) -> list[ModelConfig]:
    """Named configurations, with ``overrides[name]`` merged into their parameters.

    An override key that is a field of :class:`ModelConfig` (e.g. ``text_share``) changes
    the recipe; any other key is an algorithm parameter. Every value is checked (and
    coerced from the command line's strings) here, before any data is loaded, so a typo
    fails in a second with :class:`ParamError` rather than after minutes of training.
    An ALS configuration given ``user_feature_weight`` > 0 also sees the users' features:
    without them the weight would silently do nothing.
    """
    overrides = overrides or {}
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise ValueError(f"unknown configuration {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
    if len(set(names)) != len(names):
        raise ValueError("a configuration is named twice in --compare")
    stray = [n for n in overrides if n not in names]
    if stray:
        raise ValueError(f"--set names {', '.join(stray)}, which is not in --compare")
    out = []
    for name in names:
        cfg = CONFIGS[name]
        extra = dict(overrides.get(name, {}))
        problems: list[tuple[str | None, Any, str]] = []
        recipe: dict[str, Any] = {}
        try:
            recipe.update(RecipeParams.check({k: extra.pop(k) for k in list(extra) if k in RecipeParams.model_fields}))
        except ParamError as exc:
            problems += exc.problems
        for key, allowed in (("item_parts", ITEM_PARTS), ("user_parts", USER_PARTS)):
            if key in extra:
                value = extra.pop(key)
                try:
                    recipe[key] = _parts(value, allowed)
                except ValueError as exc:
                    problems.append((key, value, str(exc)))
        try:
            params = params_model(cfg.algorithm, cfg.engine).check({**cfg.params, **extra})
        except ParamError as exc:
            problems += exc.problems
        if problems:
            raise ParamError(problems, config=name)
        if cfg.algorithm == "als" and params.get("user_feature_weight", 0) > 0 \
                and not recipe.get("user_parts", cfg.user_parts):
            recipe["user_parts"] = ("features",)  # ALS drops identity columns (user_feature_columns)
        out.append(replace(cfg, params=params, **recipe))
    return out


class RecipeParams(AlgorithmParams):
    """The numeric fields of a configuration's feature recipe that ``--set`` may change."""

    algorithm = "a feature recipe"

    text_components: int = Field(16, ge=1)
    text_clusters: int = Field(50, ge=1)
    text_share: float = Field(0.5, ge=0, le=1)
    feature_weight: float | None = Field(None, ge=0)


def _parts(value: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    parts = tuple(p for p in str(value).replace("+", ",").split(",") if p and p != "none")
    bad = [p for p in parts if p not in allowed]
    if bad:
        raise ValueError(f"unknown feature part {', '.join(bad)}; choose from {', '.join(allowed)}")
    return parts


def params_model(algorithm: str, engine: str = "local") -> type[AlgorithmParams]:
    """The parameter model of ``algorithm`` (on ``engine``): a model class's own, or a blend's."""
    return BlendParams if algorithm == "blend" else algorithm_class(algorithm, engine).params_model


def on_engine(cfg: ModelConfig, engine: str, **engine_params: Any) -> ModelConfig:
    """``cfg`` fitted on ``engine`` instead (``solace train --engine spark --config als-ref64``),
    with ``engine_params`` (the Spark master) added; its parameters are checked against that
    engine's model, so one the engine cannot honour is a :class:`ParamError`, and an
    algorithm the engine does not train a ValueError."""
    if cfg.algorithm == "blend":
        raise ValueError(f"{cfg.name} is a blend; the {engine} engine trains single models only")
    algorithm_class(cfg.algorithm, engine)
    params = {k: v for k, v in cfg.params.items() if k != "threads" or engine == "local"}
    try:
        checked = params_model(cfg.algorithm, engine).check({**params, **engine_params})
    except ParamError as exc:
        raise ParamError(exc.problems, config=cfg.name) from None
    return replace(cfg, engine=engine, params=checked)


def configuration(name: str, params: Mapping[str, Any], engine: str | None = None,
                  spark_master: str | None = None) -> ModelConfig:
    """What ``solace train --config NAME`` (or plain ``--algorithm NAME``: Solace's defaults
    for an algorithm are the configuration of that name, defined once in :data:`CONFIGS`)
    trains: ``params`` merged over its parameters, fitted on ``engine`` (default: the
    configuration's own). Raises ValueError (an unknown name) or ParamError."""
    if name not in CONFIGS:
        raise ValueError(f"unknown configuration {name!r}; see `solace evaluate --list-configs`")
    engine = engine or CONFIGS[name].engine
    extra = {"master": spark_master} if spark_master else {}
    if engine == CONFIGS[name].engine:
        return resolve_configs([name], {name: {**params, **extra}})[0]
    return on_engine(resolve_configs([name])[0], engine, **{**params, **extra})


def require_item_texts(cfg: ModelConfig, wb: WorkbenchData) -> None:
    """Raise ValueError, saying how to give texts for these data, when ``cfg`` needs them."""
    if cfg.needs_text and wb.data.item_embeddings is None:
        raise ValueError(f"{cfg.name} needs item texts: {text_hint(wb.source)}")


def text_hint(source: str) -> str:
    """How to give item texts for data from ``source`` (``WorkbenchData.source``): the
    fix differs for files, a MovieLens folder and Solace's own catalog."""
    if source.startswith("movielens"):
        return "give the MovieLens plot texts (--plots FILE, or ../ml-100k-plots next to the folder)"
    if source == "files":
        return "give --item-text FILE (item_id,text)"
    return "run `solace embed` to embed the catalog's texts"


ITEM_RECIPE_FIELDS = ("item_parts", "text_components", "text_clusters", "text_share", "feature_weight")


USER_RECIPE_FIELDS = ("user_parts", "feature_weight")


def recipe_mismatch(part: ModelConfig, blend: ModelConfig) -> list[str]:
    """Recipe fields where ``part`` differs from ``blend`` on a side (items, users) it uses.

    Every part trains on the blend's one dataset, so a part must see the features it was
    defined with; a side it does not use (ALS has no item features) is not compared.
    """
    fields: list[str] = []
    if part.item_parts:
        fields += ITEM_RECIPE_FIELDS
    if part.user_parts:
        fields += [f for f in USER_RECIPE_FIELDS if f not in fields]
    return [f for f in fields if getattr(part, f) != getattr(blend, f)]


def model_for(cfg: ModelConfig, random_state: int, threads: int) -> Recommender:
    """The model ``run_config`` trains for ``cfg``: :func:`build_model`, with a LightFM
    configuration that has item features wrapped in :class:`NewItemsFromFeatures`, and a
    ``blend`` built part by part (each the same way) into a :class:`ScoreBlend`."""
    if cfg.algorithm == "blend":
        return _build_blend(cfg, random_state, threads)
    model = build_model(cfg, random_state, threads)
    if cfg.algorithm == "lightfm" and cfg.item_parts:
        model = NewItemsFromFeatures(model)
    return model


def _comma_list(value: Any) -> Any:
    """``a,b`` (or ``a+b``) from the command line as a list; anything else unchanged."""
    if isinstance(value, str):
        return [p.strip() for p in value.replace("+", ",").split(",") if p.strip()]
    return value


class BlendParams(AlgorithmParams):
    """A blend's parameters: the named configurations it sums and one weight for each
    (``--set hybrid-als.weights=0.7,0.3`` or a JSON list)."""

    algorithm = "blend"

    parts: list[str] = Field(min_length=1)
    weights: list[Annotated[float, Field(ge=0)]] | None = None

    @field_validator("parts", "weights", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("parts")
    @classmethod
    def _known_parts(cls, parts: list[str]) -> list[str]:
        unknown = [p for p in parts if p not in CONFIGS or CONFIGS[p].algorithm == "blend"]
        if unknown:
            choices = ", ".join(n for n, c in CONFIGS.items() if c.algorithm != "blend")
            raise ValueError(f"unknown blend part {', '.join(unknown)}; choose from {choices}")
        return parts

    @model_validator(mode="after")
    def _one_weight_per_part(self) -> BlendParams:
        if self.weights is not None:
            if len(self.weights) != len(self.parts):
                raise ValueError(f"give as many weights as parts ({len(self.parts)} parts, "
                                 f"{len(self.weights)} weights)")
            if not sum(self.weights) > 0:
                raise ValueError("at least one blend weight must be above 0")
        return self


def _build_blend(cfg: ModelConfig, random_state: int, threads: int) -> Recommender:
    try:
        params = BlendParams.check(cfg.params)
    except ParamError as exc:
        raise ValueError(f"{cfg.name}: {exc}") from None
    parts = list(params["parts"])
    weights = [float(w) for w in params.get("weights") or [1.0] * len(parts)]
    models = []
    for name in parts:
        part = CONFIGS[name]
        # every part trains on the blend's dataset, so a part using features must share its recipe
        differing = recipe_mismatch(part, cfg)
        if differing:
            raise ValueError(f"{cfg.name}: part {name} uses another feature recipe than the blend "
                             f"({', '.join(differing)})")
        models.append(model_for(part, random_state, threads))
    return ScoreBlend(models, weights)


def build_model(cfg: ModelConfig, random_state: int, threads: int) -> Recommender:
    """Instantiate ``cfg`` with the run's seed and thread count (where the algorithm takes them)."""
    params = with_run_settings(cfg.algorithm, cfg.params, random_state, threads, threads_win=True, engine=cfg.engine)
    if cfg.algorithm == "lightfm":
        params.setdefault("use_item_features", bool(cfg.item_parts))
        params.setdefault("use_user_features", bool(cfg.user_parts))
    try:
        params = params_model(cfg.algorithm, cfg.engine).check(params)
    except ParamError as exc:
        raise ValueError(f"{cfg.name} ({cfg.algorithm}): {exc}") from None
    return make_algorithm(cfg.algorithm, cfg.engine, **params)
