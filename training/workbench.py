"""Named model configurations, feature recipes, splits and comparisons for ``solace evaluate``.

A configuration is an algorithm, its parameters and the features it sees. Keeping the
raw-library references (``lightfm-ref``, ``als-ref``...) as configurations next to
Solace's tuned hybrids lets one ``--compare`` run put them side by side on the same split,
with the same metric code, so a claimed gain is measured, not asserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field, field_validator, model_validator

from recommender.foldin import BlendPart, foldin_settings, typical_user_norm
from training.data_io import WorkbenchData
from training.dataset import ITEM_IDENTITY_PREFIX, USER_IDENTITY_PREFIX, InteractionData, feature_matrix
from training.evaluate import evaluate_model
from training.models import ALGORITHMS, Recommender, make_algorithm
from training.models.params import AlgorithmParams, ParamError
from training.splits import cold_item_split, random_split, time_split

SPLITS = ("random", "time", "cold-items", "predefined")
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
    ModelConfig("popularity", "popularity", description="number of users per item"),
    ModelConfig("content", "content", description="cosine to the mean text embedding of the user's items"),
    # Solace's defaults (what `solace train` uses) and tuned configurations
    ModelConfig("lightfm", "lightfm",
                {"no_components": 32, "loss": "warp", "learning_rate": 0.05, "epochs": 40, "max_sampled": 20},
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
    ModelConfig("hybrid-cold", "lightfm", {**TUNED_WARP, "epochs": 20}, ("features", "text-pca"), (),
                text_components=32, text_share=0.5,
                description="cold-start path: items only through features and 32 text components (no item ids)"),
)}

DEFAULT_COMPARE = ("lightfm-ref", "als-ref", "popularity", "lightfm", "hybrid")


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
            params = params_model(cfg.algorithm).check({**cfg.params, **extra})
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


def params_model(algorithm: str) -> type[AlgorithmParams]:
    """The parameter model of ``algorithm``: a model class's own, or a blend's."""
    return BlendParams if algorithm == "blend" else ALGORITHMS[algorithm].params_model


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


# ----------------------------------------------------------------------------- features
def text_components(embeddings: np.ndarray, fit_rows: np.ndarray, n: int, random_state: int) -> np.ndarray:
    """PCA of the text embeddings fitted on ``fit_rows`` only (the items seen in training),
    then applied to every item: a new item is projected exactly as at serving time."""
    from sklearn.decomposition import PCA

    n = max(1, min(n, int(fit_rows.sum()) - 1, embeddings.shape[1]))
    pca = PCA(n_components=n, random_state=random_state).fit(embeddings[fit_rows])
    return pca.transform(embeddings).astype(np.float32)


def text_clusters(embeddings: np.ndarray, fit_rows: np.ndarray, n: int, random_state: int) -> np.ndarray:
    """k-means clusters fitted on the training items; every item gets its nearest centroid."""
    from sklearn.cluster import KMeans

    n = max(1, min(n, int(fit_rows.sum())))
    km = KMeans(n_clusters=n, n_init=4, random_state=random_state).fit(embeddings[fit_rows])
    return km.predict(embeddings)


def item_feature_matrix(
    wb: WorkbenchData, cfg: ModelConfig, train: sp.csr_matrix, random_state: int
) -> tuple[sp.csr_matrix | None, list[str]]:
    """The item features of one configuration, built from what training may know.

    The sparse part (ids, given features, cluster tokens) is row-normalised by
    :func:`feature_matrix`; the dense text components are scaled to L1 norm 1 and
    weighted by ``text_share``, so every item row has the same total weight whatever its
    number of features, which is what lets a cold item's features-only row land on the
    same scale as a warm item's.
    """
    if not cfg.item_parts:
        return None, []
    data = wb.data
    emb = data.item_embeddings
    seen = np.asarray((train > 0).sum(axis=0)).ravel() > 0
    lists: dict[str, list[tuple[str, float]]] = {i: [] for i in data.item_ids}
    if "features" in cfg.item_parts:
        for item, feats in wb.item_features.items():
            if item in lists:
                lists[item].extend(feats)
    if "text-clusters" in cfg.item_parts:
        assert emb is not None
        labels = text_clusters(emb, seen, cfg.text_clusters, random_state)
        for n, item in enumerate(data.item_ids):
            lists[item].append((f"text-cluster:{labels[n]}", 1.0))
    if cfg.feature_weight is not None:
        return _weighted_item_features(data, cfg, lists, seen, random_state)
    if "identity" in cfg.item_parts:
        # Only items seen in training get an id feature: an unseen (cold) item's id vector
        # would be untrained noise, so its vector comes from its features and text alone.
        for n, item in enumerate(data.item_ids):
            if seen[n]:
                lists[item].insert(0, (f"{ITEM_IDENTITY_PREFIX}{item}", 1.0))
    sparse_part, names = feature_matrix(data.item_ids, lists, identity_prefix=None)
    if "text-pca" not in cfg.item_parts:
        return sparse_part, names
    assert emb is not None
    comps = text_components(emb, seen, cfg.text_components, random_state)
    comps /= np.maximum(np.abs(comps).sum(axis=1, keepdims=True), 1e-12)
    share = float(cfg.text_share)
    has_sparse = np.asarray(sparse_part.sum(axis=1)).ravel() > 0
    # an item with no sparse features gets its whole row from the text
    dense_weight = np.where(has_sparse, share, 1.0).astype(np.float32)
    matrix = sp.hstack([
        sp.diags(1.0 - dense_weight) @ sparse_part,
        sp.csr_matrix(comps * dense_weight[:, None]),
    ]).tocsr().astype(np.float32)
    return matrix, names + [f"text-pc:{n}" for n in range(comps.shape[1])]


def _raw_matrix(ids: Sequence[str], lists: Mapping[str, Sequence[tuple[str, float]]]) -> tuple[sp.csr_matrix, list[str]]:
    index: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for r, e in enumerate(ids):
        for name, w in lists.get(e, ()):
            rows.append(r)
            cols.append(index.setdefault(name, len(index)))
            vals.append(float(w))
    m = sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(ids), len(index)))
    m.sum_duplicates()
    return m, list(index)


def _weighted_item_features(
    data: InteractionData, cfg: ModelConfig, lists: Mapping[str, Sequence[tuple[str, float]]],
    seen: np.ndarray, random_state: int,
) -> tuple[sp.csr_matrix, list[str]]:
    """Rows ``[id (seen items only), feature_weight * features, text_share * components]``.

    An unseen item has no id; its row is scaled to L1 norm 1, as a normalised hybrid
    would place it, so its vector comes from its features and text alone at a scale
    comparable to the warm items it competes with.
    """
    assert cfg.feature_weight is not None
    feats, names = _raw_matrix(data.item_ids, lists)
    blocks = [feats * float(cfg.feature_weight)]
    if "text-pca" in cfg.item_parts:
        assert data.item_embeddings is not None
        comps = text_components(data.item_embeddings, seen, cfg.text_components, random_state)
        comps /= np.maximum(np.abs(comps).sum(axis=1, keepdims=True), 1e-12)
        blocks.append(sp.csr_matrix(comps * float(cfg.text_share)))
        names = names + [f"text-pc:{n}" for n in range(comps.shape[1])]
    if "identity" in cfg.item_parts:
        seen_rows = np.flatnonzero(seen)
        ident = sp.csr_matrix((np.ones(len(seen_rows), dtype=np.float32), (seen_rows, np.arange(len(seen_rows)))),
                              shape=(len(data.item_ids), len(seen_rows)))
        blocks.insert(0, ident)
        names = [f"{ITEM_IDENTITY_PREFIX}{data.item_ids[r]}" for r in seen_rows] + names
    matrix = sp.hstack(blocks).tocsr().astype(np.float32)
    l1 = np.asarray(abs(matrix).sum(axis=1)).ravel()
    scale = np.where(~seen & (l1 > 0), 1.0 / np.maximum(l1, 1e-12), 1.0).astype(np.float32)
    return (sp.diags(scale) @ matrix).tocsr().astype(np.float32), names


def user_feature_matrix(wb: WorkbenchData, cfg: ModelConfig) -> tuple[sp.csr_matrix | None, list[str]]:
    if not cfg.user_parts:
        return None, []
    identity = USER_IDENTITY_PREFIX if "identity" in cfg.user_parts else None
    feats = wb.user_features if "features" in cfg.user_parts else {}
    if cfg.feature_weight is not None:
        weighted = {u: [(f, w * float(cfg.feature_weight)) for f, w in fl] for u, fl in feats.items()}
        if identity:
            for u in wb.data.user_ids:
                weighted[u] = [(f"{USER_IDENTITY_PREFIX}{u}", 1.0)] + weighted.get(u, [])
        return _raw_matrix(wb.data.user_ids, weighted)
    return feature_matrix(wb.data.user_ids, feats, identity_prefix=identity)


def config_data(wb: WorkbenchData, cfg: ModelConfig, train: sp.csr_matrix, random_state: int) -> InteractionData:
    """The dataset one configuration trains on: ``train`` plus its own feature recipe.

    An ALS ``user_feature_weight`` with no user features in the data is refused: the
    model would train exactly as without it and the manifest would claim otherwise.
    """
    require_item_texts(cfg, wb)
    if cfg.algorithm == "als" and cfg.params.get("user_feature_weight", 0) > 0 and not wb.user_features:
        raise ValueError(f"{cfg.name}: user_feature_weight={cfg.params['user_feature_weight']} needs users' "
                         "features (--user-features FILE), and these data have none")
    ifm, inames = item_feature_matrix(wb, cfg, train, random_state)
    ufm, unames = user_feature_matrix(wb, cfg)
    d = wb.data
    return InteractionData(
        user_ids=d.user_ids, item_ids=d.item_ids, interactions=train.tocsr(),
        user_features=ufm, user_feature_names=unames, item_features=ifm, item_feature_names=inames,
        item_embeddings=d.item_embeddings, cluster_centroids=d.cluster_centroids,
    )


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
    import inspect

    params = dict(cfg.params)
    accepted = inspect.signature(ALGORITHMS[cfg.algorithm].__init__).parameters
    if "random_state" in accepted:
        params.setdefault("random_state", random_state)
    if "threads" in accepted:
        params["threads"] = threads
    if cfg.algorithm == "lightfm":
        params.setdefault("use_item_features", bool(cfg.item_parts))
        params.setdefault("use_user_features", bool(cfg.user_parts))
    try:
        params = params_model(cfg.algorithm).check(params)
    except ParamError as exc:
        raise ValueError(f"{cfg.name} ({cfg.algorithm}): {exc}") from None
    return make_algorithm(cfg.algorithm, **params)


class NewItemsFromFeatures(Recommender):
    """A feature-based model trained only on the items seen in training.

    An item without training interactions plays no part in fitting (in production a new
    item does not exist yet when the model is trained, so it must not even serve as a
    sampled negative); afterwards every item's vector is its feature row times the learnt
    feature vectors, which for a cold item means its given features and text alone. This
    is the same sum serving uses to place a new item (``vector_from_features``).
    """

    name = "lightfm"

    def __init__(self, inner: Recommender) -> None:
        self.inner = inner

    def get_params(self) -> dict[str, Any]:
        return self.inner.get_params()

    def fit(self, data: InteractionData) -> "NewItemsFromFeatures":
        if data.item_features is None:
            raise ValueError("new items can only be placed by a model with item features")
        seen = np.flatnonzero(np.asarray((data.interactions > 0).sum(axis=0)).ravel() > 0)
        self.full_item_features_ = data.item_features.tocsr()
        sub = InteractionData(
            data.user_ids, [data.item_ids[i] for i in seen], data.interactions[:, seen].tocsr(),
            data.user_features, data.user_feature_names, self.full_item_features_[seen],
            data.item_feature_names, None if data.item_embeddings is None else data.item_embeddings[seen],
            data.cluster_centroids,
        )
        self.inner.fit(sub)
        return self

    def item_vectors(self) -> np.ndarray:
        rows = self.inner.item_feature_vectors()
        assert rows is not None
        return np.asarray(self.full_item_features_ @ rows, dtype=np.float32)

    def user_vectors(self) -> np.ndarray:
        return self.inner.user_vectors()

    def user_feature_vectors(self) -> np.ndarray | None:
        return self.inner.user_feature_vectors()

    def item_feature_vectors(self) -> np.ndarray | None:
        return self.inner.item_feature_vectors()


class ScoreBlend(Recommender):
    """A weighted sum of several models' scores that is still one dot product.

    Each part's scores are standardised per user before weighting: item vectors are
    centred on the mean vector of the items seen in training, and each user vector is
    divided by the standard deviation of its scores over those items (a per-user shift
    never changes a ranking; a per-user scale is a scaled user vector). The blend's
    vectors are the concatenations ``[w_1 u_1 / sd_1, w_2 u_2 / sd_2...]`` and
    ``[v_1 - mean_1, v_2 - mean_2...]``, so serving, evaluation and publishing see an
    ordinary user and item matrix. A part that cannot place an item without training
    interactions (no item features, e.g. ALS) scores it as its average item: 0 after
    centring, leaving such items to the parts that can place them.
    """

    name = "blend"

    def __init__(self, models: Sequence[Recommender], weights: Sequence[float]) -> None:
        if len(models) != len(weights) or not models:
            raise ValueError("a blend needs one weight per model")
        self.models = list(models)
        self.weights = [float(w) for w in weights]

    def get_params(self) -> dict[str, Any]:
        return {"weights": self.weights,
                "parts": [{"algorithm": m.name, **m.get_params()} for m in self.models]}

    def fit(self, data: InteractionData) -> "ScoreBlend":
        seen = np.asarray((data.interactions > 0).sum(axis=0)).ravel() > 0
        if not seen.any():
            raise ValueError("a blend needs at least one training interaction")
        users, items = [], []
        self.parts_: list[BlendPart] = []
        for model, weight in zip(self.models, self.weights):
            model.fit(data)
            u = np.asarray(model.user_vectors(), dtype=np.float64)
            v = np.asarray(model.item_vectors(), dtype=np.float64).copy()
            mean = v[seen].mean(axis=0)
            if model.item_feature_vectors() is None:
                v[~seen] = mean
            v -= mean
            sd = np.empty(len(u))
            for start in range(0, len(u), 1024):
                sd[start:start + 1024] = (u[start:start + 1024] @ v[seen].T).std(axis=1)
            sd[~(sd > 1e-12)] = 1.0
            users.append(u * (weight / sd)[:, None])
            items.append(v)
            self.parts_.append(BlendPart(
                model.name, v.shape[1], weight, mean, typical_user_norm(u, model.name),
                **foldin_settings(model.name, model.get_params()),
            ))
        self.user_vectors_ = np.hstack(users).astype(np.float32)
        self.item_vectors_ = np.hstack(items).astype(np.float32)
        return self

    def item_vectors(self) -> np.ndarray:
        return self.item_vectors_

    def user_vectors(self) -> np.ndarray:
        return self.user_vectors_

    def foldin_parts(self) -> list[Any] | None:
        return list(self.parts_)


# ----------------------------------------------------------------------------- splits
@dataclass
class Split:
    name: str
    train: sp.csr_matrix
    test: sp.csr_matrix
    cold_items: np.ndarray | None = None
    note: str = ""


def make_split(
    wb: WorkbenchData, kind: str, test_share: float = 0.2, random_state: int = 42,
    test_matrix: sp.csr_matrix | None = None,
) -> Split:
    """One of :data:`SPLITS` (or a given test matrix); raises ValueError when the data
    cannot support it (no timestamps for ``time``, no predefined files, nothing to hold
    out): a table of zeros measured on no test data would look like a result."""
    split = _split(wb, kind, test_share, random_state, test_matrix)
    if split.test.nnz == 0:
        hint = ("no item has interactions to hold out" if kind == "cold-items" else
                f"no user has enough interactions to hold out {test_share:.0%} of them and keep one to train on")
        raise ValueError(f"the {split.name} split has no test interactions: {hint}")
    if split.train.nnz == 0:
        raise ValueError(f"the {split.name} split has no training interactions")
    return split


def _split(
    wb: WorkbenchData, kind: str, test_share: float, random_state: int, test_matrix: sp.csr_matrix | None,
) -> Split:
    m = wb.data.interactions
    positives = m.copy()
    if test_matrix is not None:
        train = m.tocsr()
        return Split("test-file", train, test_matrix.tocsr(), note="train: all loaded interactions")
    if kind == "random":
        tr, te = random_split(positives, test_share, random_state)
        return Split(kind, tr, te, note=f"{test_share:.0%} of each user's interactions held out (seed {random_state})")
    if kind == "time":
        if wb.timestamps is None:
            raise ValueError("the time split needs timestamps: add a timestamp column to the interactions")
        tr, te = time_split(positives, wb.timestamps, test_share)
        return Split(kind, tr, te, note=f"each user's latest {test_share:.0%} held out")
    if kind == "cold-items":
        tr, te, cold = cold_item_split(positives, test_share, random_state)
        return Split(kind, tr, te, cold, note=f"all interactions of {len(cold)} item{'s' if len(cold) != 1 else ''} ({test_share:.0%}) held out (seed {random_state})")
    if kind == "predefined":
        if wb.predefined is None:
            raise ValueError("the predefined split needs --movielens DIR with ua.base/ua.test, or use --test FILE")
        tr, te = wb.predefined
        return Split(kind, tr, te, note="given train/test files (MovieLens ua.base/ua.test)")
    raise ValueError(f"unknown split {kind!r}; choose from {', '.join(SPLITS)}")


# ----------------------------------------------------------------------------- runs
@dataclass
class Result:
    config: ModelConfig
    metrics: dict[str, float | None]
    fit_seconds: float


def run_config(
    wb: WorkbenchData, split: Split, cfg: ModelConfig, k: int = 10, random_state: int = 42, threads: int = 1,
) -> Result:
    data = config_data(wb, cfg, split.train, random_state)
    started = time.perf_counter()
    model = model_for(cfg, random_state, threads)
    model.fit(data)
    seconds = time.perf_counter() - started
    metrics: dict[str, float | None] = dict(
        evaluate_model(model, split.train, split.test, k=k, item_embeddings=wb.data.item_embeddings)
    )
    metrics.setdefault("diversity", None)
    for key, value in metrics.items():
        if isinstance(value, float) and not np.isfinite(value):
            metrics[key] = None
    return Result(cfg, metrics, seconds)


def compare(
    wb: WorkbenchData, split: Split, configs: Sequence[ModelConfig], k: int = 10, random_state: int = 42,
    threads: int = 1, on_done: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Every configuration on the same split with the same metrics."""
    results = []
    for cfg in configs:
        result = run_config(wb, split, cfg, k, random_state, threads)
        results.append(result)
        if on_done:
            on_done(result)
    return results


def summarise_repeats(runs: Sequence[Sequence[Result]]) -> list[Result]:
    """One result per configuration over repeated runs: the mean of each metric, and its
    sample standard deviation under ``"<metric>_sd"`` (a single run's difference between
    two models means little until it is compared with this spread)."""
    if not runs:
        raise ValueError("no runs to summarise")
    out = []
    for column in zip(*runs):
        first = column[0]
        metrics: dict[str, float | None] = {}
        for key in first.metrics:
            values = [r.metrics.get(key) for r in column]
            finite = [float(v) for v in values if v is not None and np.isfinite(v)]
            metrics[key] = float(np.mean(finite)) if finite else None
            if len(column) > 1:
                metrics[f"{key}_sd"] = float(np.std(finite, ddof=1)) if len(finite) > 1 else None
        out.append(Result(first.config, metrics, float(np.mean([r.fit_seconds for r in column]))))
    return out


def gains_over(runs: Sequence[Sequence[Result]], baseline: str, metrics: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Each configuration's relative gain over ``baseline`` (``value / baseline - 1``),
    computed within each run and then averaged, so a repeat's shared luck cancels out;
    with several runs ``"<metric>_sd"`` is the spread of the per-run gains."""
    out: dict[str, dict[str, float | None]] = {}
    for column in zip(*runs):
        name = column[0].config.name
        entry: dict[str, float | None] = {}
        for m in metrics:
            per_run = []
            for run, result in zip(runs, column):
                base = next(r for r in run if r.config.name == baseline).metrics.get(m)
                value = result.metrics.get(m)
                if base is not None and value is not None and np.isfinite(base) and np.isfinite(value) and base != 0:
                    per_run.append(float(value) / float(base) - 1.0)
            entry[m] = float(np.mean(per_run)) if per_run else None
            if len(runs) > 1:
                entry[f"{m}_sd"] = float(np.std(per_run, ddof=1)) if len(per_run) > 1 else None
        out[name] = entry
    return out


def metric_names(k: int) -> list[str]:
    return [f"precision@{k}", f"recall@{k}", f"ndcg@{k}", f"map@{k}", "auc", "coverage", "diversity"]
