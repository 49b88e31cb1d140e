"""EASE (training.models.ease): the closed form on a tiny matrix, its bounded variant, its
parameters, and the path from fit to serving's fold-in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.foldin import BlendFoldIn, HistoryFoldIn, foldin_settings, history_basis, log_popularity
from storage.registry import ModelRegistry
from training.dataset import InteractionData
from training.evaluate import evaluate_model
from training.models import ParamError, check_params, make_algorithm
from training.models.blend import ScoreBlend
from training.models.ease import EASE
from training.splits import random_split

TINY = np.array([
    [1, 1, 0, 0, 1],
    [1, 0, 1, 0, 0],
    [0, 1, 1, 1, 0],
    [1, 1, 1, 0, 0],
    [0, 0, 0, 1, 1],
    [1, 0, 0, 1, 0],
], dtype=np.float32)


def _data(matrix: np.ndarray) -> InteractionData:
    n_users, n_items = matrix.shape
    return InteractionData([f"u{u}" for u in range(n_users)], [f"i{i}" for i in range(n_items)], sp.csr_matrix(matrix))


def _closed_form(x: np.ndarray, lam: float) -> np.ndarray:
    """Steck's B, written from the paper's equations: P = (XᵀX + λI)⁻¹, B = I - P / diag(P)."""
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return b


def test_dense_ease_is_steck_s_closed_form_and_scores_are_user_row_times_b() -> None:
    model = EASE(regularization=2.0).fit(_data(TINY))
    b = _closed_form(TINY.astype(np.float64), 2.0)
    basis = model.basis_
    assert sorted(basis.tolist()) == list(range(5))  # every item is in the basis here
    # the item vector of item j is column j of B over the basis, then the fallback column
    np.testing.assert_allclose(model.item_vectors()[:, :-1], b[basis].T, rtol=1e-5, atol=1e-6)
    scores = model.user_vectors() @ model.item_vectors().T
    np.testing.assert_allclose(scores, TINY @ b + model.item_vectors()[:, -1][None, :], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.scores(np.arange(6)), scores, rtol=1e-5, atol=1e-6)
    assert np.all(model.item_vectors()[:, -1] <= 1e-6)  # the fallback column cannot outweigh a learnt weight


def test_the_bounded_variant_regresses_other_items_on_the_most_popular_ones() -> None:
    rng = np.random.default_rng(0)
    x = (rng.random((60, 12)) < np.linspace(0.6, 0.05, 12)[None, :]).astype(np.float32)
    model = EASE(regularization=3.0, max_items=5).fit(_data(x))
    basis = history_basis(log_popularity(sp.csr_matrix(x)), 5)
    assert model.basis_.tolist() == basis.tolist() and len(basis) == 5
    xs = x[:, basis].astype(np.float64)
    inner = _closed_form(xs, 3.0)  # EASE among the basis items
    np.testing.assert_allclose(model.item_vectors()[basis, :-1], inner.T, rtol=1e-4, atol=1e-6)
    rest = [j for j in range(12) if j not in set(basis.tolist())]
    ridge = np.linalg.solve(xs.T @ xs + 3.0 * np.eye(5), xs.T @ x[:, rest])  # each other item on the basis
    np.testing.assert_allclose(model.item_vectors()[rest, :-1], ridge.T, rtol=1e-4, atol=1e-6)
    assert model.item_vectors().shape == (12, 6) and model.user_vectors().shape == (60, 6)


def test_parameters_are_checked_before_fitting() -> None:
    with pytest.raises(ParamError, match="regularization=0"):
        check_params("ease", {"regularization": 0})
    with pytest.raises(ParamError, match="max_items"):
        check_params("ease", {"max_items": "many"})
    with pytest.raises(ParamError, match="unknown parameter of ease"):
        check_params("ease", {"factors": 8})
    assert check_params("ease", {"regularization": "250", "binary": "false"}) == {"regularization": 250.0, "binary": False}
    with pytest.raises(ParamError):
        EASE(regularization=-1.0)  # built directly, not through check_params


def _groups(seed: int = 1, n_users: int = 150, n_items: int = 40, groups: int = 4) -> InteractionData:
    rng = np.random.default_rng(seed)
    user_group = rng.integers(0, groups, n_users)
    item_group = np.arange(n_items) % groups
    rows, cols = [], []
    for u in range(n_users):
        inside = np.flatnonzero(item_group == user_group[u])
        for i in rng.choice(inside, size=6, replace=False):
            rows.append(u)
            cols.append(int(i))
    return _data(sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items)).toarray())


@pytest.mark.parametrize("max_items", [5000, 12])
def test_fit_then_recommend_ranks_the_user_s_own_group_first(max_items: int) -> None:
    data = _groups()
    train, test = random_split(data.interactions, 0.3, random_state=2)
    model = make_algorithm("ease", regularization=20.0, max_items=max_items).fit(data.with_interactions(train))
    items, scores = model.recommend(0, k=5, exclude=train)
    own = set(train[0].indices % 4)
    assert all(i % 4 in own for i in items.tolist()) and np.all(np.diff(scores) <= 0)
    assert not set(items.tolist()) & set(train[0].indices.tolist())
    pop = make_algorithm("popularity").fit(data.with_interactions(train))
    assert evaluate_model(model, train, test, k=5)["precision@5"] > 2 * evaluate_model(pop, train, test, k=5)["precision@5"]


def test_history_fold_in_gives_exactly_the_trained_user_vectors() -> None:
    data = _groups(seed=3)
    model = EASE(regularization=10.0, max_items=15).fit(data)
    settings = foldin_settings("ease", model.get_params())
    foldin = HistoryFoldIn(log_popularity(data.interactions), model.item_vectors().shape[1] - 1, bool(settings["binary"]))
    m = data.interactions
    rows = [m[u].indices for u in range(m.shape[0])]
    folded = foldin.user_vectors(model.item_vectors(), rows, [m[u].data for u in range(m.shape[0])])
    np.testing.assert_array_equal(folded, model.user_vectors())
    # a user who engaged only with items outside the basis gets the popularity order
    outside = np.setdiff1d(np.arange(40), model.basis_)[:2]
    alone = foldin.user_vectors(model.item_vectors(), [outside], [np.ones(2)])[0]
    assert alone[:-1].sum() == 0 and alone[-1] == 1.0
    order = np.argsort(-(alone @ model.item_vectors().T), kind="stable")
    assert np.argsort(-log_popularity(m), kind="stable")[:5].tolist() == order[:5].tolist()


def test_a_blend_with_an_ease_part_folds_users_in_part_by_part() -> None:
    data = _groups(seed=4)
    blend = ScoreBlend([EASE(regularization=10.0), make_algorithm("als", factors=6, iterations=8, random_state=0)],
                       [0.5, 0.5]).fit(data)
    parts = blend.foldin_parts()
    assert parts is not None and parts[0].algorithm == "ease"
    from recommender.foldin import BlendPart

    parts = [BlendPart.from_json(p.to_json()) for p in parts]  # as the manifest carries them
    foldin = BlendFoldIn(blend.item_vectors(), parts, seen=log_popularity(data.interactions) > 0,
                         popularity=log_popularity(data.interactions))
    m = data.interactions
    users = [3, 17, 40]
    folded = foldin.user_vectors(blend.item_vectors(), [m[u].indices for u in users], [m[u].data for u in users])
    ease_dims = parts[0].dims
    # the EASE part is exact; the ALS part is its own user step (as the blend tests check)
    np.testing.assert_allclose(folded[:, :ease_dims], blend.user_vectors()[users, :ease_dims], rtol=1e-4, atol=1e-5)


def test_an_ease_version_publishes_and_serving_folds_users_in_exactly(
    tmp_path: Path, redis_url: str, redis_prefix: str,
) -> None:
    import redis

    from serving.model_cache import load_model
    from serving.publish import publish_version
    from storage.keyspace import Keyspace
    from training.configs import configuration
    from training.data_io import WorkbenchData
    from training.pipeline import ConfigCandidate, train_version

    data = _groups(seed=5)
    data.user_ids = [f"acme:{u}" for u in data.user_ids]  # as the event log names users
    registry = ModelRegistry(tmp_path / "models")
    wb = WorkbenchData(data)
    outcome = train_version(wb, ConfigCandidate(configuration("ease", {"regularization": 10.0, "max_items": 20})),
                            registry)
    assert outcome.version.manifest["params"] == {"regularization": 10.0, "max_items": 20, "binary": True}
    # `solace train --algorithm ease` records EASE's defaults; serving takes the basis size
    # from the item matrix itself, not from the manifest
    plain = train_version(wb, ConfigCandidate(configuration("ease", {})), registry)
    assert plain.version.manifest["params"] == {"regularization": 500.0, "max_items": 5000, "binary": True}
    client0 = redis.Redis.from_url(redis_url)
    publish_version(plain.version, client0, Keyspace(redis_prefix))
    loaded0 = load_model(client0, Keyspace(redis_prefix), plain.version.version)
    assert loaded0 is not None
    m0 = data.interactions
    np.testing.assert_array_equal(loaded0.foldin.user_vectors(loaded0.item_matrix, [m0[4].indices], [m0[4].data]),
                                  plain.model.user_vectors()[4:5])
    assert outcome.metrics["precision@10"] > 0
    client = redis.Redis.from_url(redis_url)
    keys = Keyspace(redis_prefix)
    publish_version(outcome.version, client, keys)
    loaded = load_model(client, keys, outcome.version.version)
    assert loaded is not None and loaded.dim == 21
    m = data.interactions
    rows = [m[u].indices for u in range(10)]
    folded = loaded.foldin.user_vectors(loaded.item_matrix, rows, [m[u].data for u in range(10)])
    np.testing.assert_array_equal(folded, outcome.model.user_vectors()[:10])
    np.testing.assert_array_equal(loaded.item_matrix, outcome.model.item_vectors())
    stored = np.frombuffer(client.hget(*keys.user_vector("acme", outcome.version.version, "u3")), dtype=np.float32)
    np.testing.assert_array_equal(stored, folded[3])  # the published trained vector is the folded-in one
