"""`solace train --auto` / `evaluate --compare auto` (training.auto): the choice is the best
candidate on validation, the test part is never read, and the budget stops launches."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner

from training.auto import AutoChoice, Fold, auto_search, families, parse_metric, validation_folds
from training.data_io import WorkbenchData
from training.dataset import InteractionData
from training.evaluate import evaluate_model
from training.models.base import Recommender
from training.recipes import config_data
from training.splits import random_split


def _groups(seed: int = 1, n_users: int = 160, n_items: int = 48, groups: int = 4) -> sp.csr_matrix:
    """Users who engage only within their group, plus a few very popular items everyone
    shares: popularity is a poor model here, a collaborative one a good one."""
    rng = np.random.default_rng(seed)
    user_group = rng.integers(0, groups, n_users)
    item_group = np.arange(n_items) % groups
    rows, cols = [], []
    for u in range(n_users):
        inside = np.flatnonzero(item_group == user_group[u])
        for i in rng.choice(inside, size=7, replace=False):
            rows.append(u)
            cols.append(int(i))
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))


def _wb(matrix: sp.csr_matrix | Any) -> WorkbenchData:
    n_users, n_items = (160, 48) if not isinstance(matrix, sp.spmatrix) else matrix.shape
    data = InteractionData([f"u{u}" for u in range(n_users)], [f"i{i}" for i in range(n_items)], matrix)
    return WorkbenchData(data)


class _Poison:
    """Stands for the test data: any use of it fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the search read the test data (.{name})")

    def __getitem__(self, key: Any) -> Any:
        raise AssertionError("the search read the test data ([])")


def test_metric_names_are_checked() -> None:
    assert parse_metric("ndcg@10") == ("ndcg", 10) and parse_metric("recall@20") == ("recall", 20)
    for bad in ("auc", "ndcg", "ndcg@0", "coverage@10", "ndcg@x"):
        with pytest.raises(ValueError, match="choose one of"):
            parse_metric(bad)


def test_the_choice_is_the_best_candidate_on_validation_in_a_planted_example() -> None:
    matrix = _groups()
    train, _test = random_split(matrix, 0.2, 7)
    wb = _wb(matrix)
    result = auto_search(wb, train, metric="ndcg@5", budget_seconds=120, seed=3, include=("popularity", "ease", "als"),
                         max_trials_per_family=3)
    scored = [t for t in result.trials if t.score is not None]
    assert result.best.score == max(t.score for t in scored)
    assert result.best.family != "popularity"  # planted: the groups, not the shared favourites
    assert [t.score for t in result.leaderboard()] == sorted((t.score for t in scored), reverse=True)
    # every score is the candidate's own validation figure, recomputed here independently
    fold = validation_folds(train, 1, 3)[0]
    for t in [result.best, *[t for t in scored if t.family == "popularity"]]:
        model = t.choice.build(3, 1).fit(t.choice.data(wb, fold.train, 3))
        again = evaluate_model(model, fold.train, fold.test, k=5, users=fold.users, auc=False)["ndcg@5"]
        assert again == pytest.approx(t.score, abs=1e-9)
    record = result.to_json()
    assert record["chosen"]["score"] == result.best.score and record["metric"] == "ndcg@5"
    assert len(record["candidates"]) == len(result.trials) and all("seconds" in c for c in record["candidates"])


def test_planted_scores_pick_the_planted_optimum_and_blends_use_the_fitted_models() -> None:
    matrix = _groups(seed=2)
    train, _ = random_split(matrix, 0.2, 1)
    wb = _wb(matrix)

    def planted(choice: AutoChoice, folds: list[Fold]) -> tuple[float | None, list[Recommender]]:
        cfg = choice.parts[0]
        models = [choice.build(0, 1).fit(config_data(wb, cfg, f.train, 0)) for f in folds]
        if cfg.algorithm == "ease":  # planted optimum at lambda = 300
            return 1.0 - abs(np.log(cfg.params["regularization"] / 300.0)), models
        return 0.1, models

    result = auto_search(wb, train, budget_seconds=300, seed=0, include=("popularity", "ease", "als"),
                         max_trials_per_family=6, runner=planted)
    ease = [t for t in result.trials if t.family == "ease" and t.score is not None]
    best_ease = max(ease, key=lambda t: t.score or 0.0)
    blends = [t for t in result.trials if t.family == "blend"]
    assert blends and all(len(t.choice.parts) == 2 for t in blends)
    single_best = max([t for t in result.trials if t.family != "blend"], key=lambda t: t.score or 0.0)
    assert single_best is best_ease
    assert result.best.score == max(t.score for t in result.trials if t.score is not None)


def test_the_search_never_reads_the_test_data() -> None:
    """Adversarial: everything that holds test interactions raises when touched."""
    matrix = _groups(seed=4)
    train, _test = random_split(matrix, 0.2, 5)
    d = InteractionData([f"u{u}" for u in range(160)], [f"i{i}" for i in range(48)], _Poison())  # type: ignore[arg-type]  # the poison stands in for the full matrix
    wb = WorkbenchData(d, timestamps=_Poison(), predefined=(_Poison(), _Poison()))  # type: ignore[arg-type]  # likewise
    result = auto_search(wb, train, budget_seconds=60, seed=1, include=("popularity", "ease", "als", "lightfm"),
                         max_trials_per_family=2)
    assert result.best.score is not None
    # and the validation folds hold training interactions only
    for fold in validation_folds(train, 2, 1):
        assert (fold.train + fold.test - train).nnz == 0


def test_the_budget_stops_launches_with_an_injected_clock() -> None:
    matrix = _groups(seed=6)
    train, _ = random_split(matrix, 0.2, 2)
    wb = _wb(matrix)
    now = [0.0]
    launches: list[float] = []

    def clock() -> float:
        return now[0]

    def slow(choice: AutoChoice, folds: list[Fold]) -> tuple[float | None, list[Recommender]]:
        launches.append(now[0])
        models = [choice.build(0, 1).fit(config_data(wb, choice.parts[0], f.train, 0)) for f in folds]
        now[0] += 30.0  # every candidate "takes" 30 s
        return float(len(launches)), models

    result = auto_search(wb, train, budget_seconds=200, seed=0, include=("popularity", "ease", "als"),
                         clock=clock, runner=slow, max_trials_per_family=50)
    # 10% of the budget is kept for blends: a candidate starts only while 1.25 times its
    # estimated 30 s fits in the first 180 s
    assert launches == [0.0, 30.0, 60.0, 90.0, 120.0]
    assert result.stopped == "budget spent" and result.spent_seconds == 150.0
    assert any(t.family == "blend" for t in result.trials)
    # a budget too small for anything after the first candidates skips the rest, and says so
    now[0], launches[:] = 0.0, []
    small = auto_search(wb, train, budget_seconds=50, seed=0, include=("popularity", "ease", "als"),
                        clock=clock, runner=slow)
    assert launches == [0.0, 30.0] and small.skipped == ["als"]


def test_the_tuning_time_is_shared_by_rank_so_a_slow_weak_family_gets_little() -> None:
    """A weak family whose candidates are slow (LightFM on a large catalogue) gets about
    its share of the tuning time (0.15 for a third family), not a trial per few rounds."""
    from training.auto.search import time_shares

    assert time_shares(1) == [1.0] and time_shares(2) == [0.7, 0.3]
    assert time_shares(5) == pytest.approx([0.6, 0.25, 0.05, 0.05, 0.05]) and sum(time_shares(5)) == pytest.approx(1.0)
    matrix = _groups(seed=7)
    train, _ = random_split(matrix, 0.2, 3)
    wb = _wb(matrix)
    now = [0.0]
    # family: (validation score, seconds per candidate)
    planted = {"als": (0.5, 10.0), "ease": (0.3, 10.0), "bpr": (0.1, 60.0), "popularity": (0.05, 1.0)}
    studied: dict[str, float] = {"als": 0.0, "ease": 0.0, "bpr": 0.0}

    def runner(choice: AutoChoice, folds: list[Fold]) -> tuple[float | None, list[Recommender]]:
        cfg = choice.parts[0]
        models = [choice.build(0, 1).fit(config_data(wb, cfg, f.train, 0)) for f in folds]
        score, seconds = planted[cfg.algorithm]
        now[0] += seconds
        return score, models

    result = auto_search(wb, train, budget_seconds=1000, seed=0, include=("popularity", "ease", "als", "bpr"),
                         clock=lambda: now[0], runner=runner, max_trials_per_family=200)
    for t in result.trials:
        if t.family in studied and not t.name.endswith("#0"):
            studied[t.family] += t.seconds
    total = sum(studied.values())
    assert total > 700  # the tuning ran to near its end (900 s less the first candidates)
    # each family within one of its candidates of its share: the slow weak one gets ~0.15
    assert abs(studied["bpr"] - 0.15 * total) <= 60.0
    assert abs(studied["als"] - 0.6 * total) <= 10.0 + 60.0
    assert studied["als"] > studied["ease"] > studied["bpr"]
    assert result.best.score is not None and result.best.score >= 0.5


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_train_auto_records_the_search_and_evaluate_compares_auto(tmp_path: Path) -> None:
    matrix = _groups(seed=8).tocoo()
    interactions = _write_csv(tmp_path / "interactions.csv", ["user_id", "item_id"],
                              [[f"u{u}", f"i{i}"] for u, i in zip(matrix.row, matrix.col)])
    home = tmp_path / "home"
    env = {"SOLACE_HOME": str(home), "SOLACE_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "SOLACE_RANDOM_STATE": "3"}
    from solace.cli import cli

    result = CliRunner().invoke(cli, ["train", "--auto", "--budget", "0.3", "--interactions", str(interactions)], env=env)
    assert result.exit_code == 0, result.output
    assert "chosen:" in result.output and "ndcg@10" in result.output
    version = re.search(r"model version (\S+)", result.output).group(1)
    manifest = json.loads((home / "models" / version / "manifest.json").read_text())
    search = manifest["auto_search"]
    assert manifest["configuration"] == "auto" and search["metric"] == "ndcg@10" and search["budget_seconds"] == 18.0
    assert search["chosen"]["score"] == max(c["score"] for c in search["candidates"] if c["score"] is not None)
    assert {c["family"] for c in search["candidates"]} >= {"popularity", "ease", "als"}
    assert manifest["algorithm"] == search["chosen"]["algorithm"]

    bad = CliRunner().invoke(cli, ["train", "--auto", "--config", "als", "--interactions", str(interactions)], env=env)
    assert bad.exit_code == 2 and "--auto chooses the algorithm" in bad.output
    bad = CliRunner().invoke(cli, ["train", "--budget", "3", "--interactions", str(interactions)], env=env)
    assert bad.exit_code == 2 and "only used with --auto" in bad.output

    out = tmp_path / "auto.json"
    result = CliRunner().invoke(cli, ["evaluate", "--interactions", str(interactions), "--split", "random",
                                      "--compare", "als-ref64,auto", "--budget", "0.2", "--k", "5",
                                      "--json", str(out)], env=env)
    assert result.exit_code == 0, result.output
    rows = [line.split()[0] for line in result.stdout.splitlines()[2:] if line.strip()]
    assert rows == ["als-ref64", "auto"]
    body = json.loads(out.read_text())
    assert body["auto"]["ndcg@5"] is not None and body["_run"]["auto_searches"][0]["chosen"]["name"]


def test_a_staged_lightfm_fit_is_the_plain_fit_and_stops_on_the_validation_metric() -> None:
    from training.models.lightfm_hybrid import LightFMHybrid

    matrix = _groups(seed=9)
    data = _wb(matrix).data
    plain = LightFMHybrid(no_components=8, epochs=20, random_state=3, use_item_features=False,
                          use_user_features=False).fit(data)
    seen: list[int] = []
    staged = LightFMHybrid(no_components=8, epochs=20, random_state=3, use_item_features=False,
                           use_user_features=False).fit_in_stages(data, [5, 10, 15], lambda e: seen.append(e) is None)
    assert seen == [5, 10, 15, 20] and staged.epochs_trained_ == 20
    np.testing.assert_allclose(staged.item_vectors(), plain.item_vectors(), rtol=1e-5, atol=1e-6)
    stopped = LightFMHybrid(no_components=8, epochs=20, random_state=3, use_item_features=False,
                            use_user_features=False).fit_in_stages(data, [5, 10, 15], lambda e: e < 10)
    assert stopped.epochs_trained_ == 10
    # in the search, a LightFM candidate reports its score by epochs and is chosen at its best stage
    train, _ = random_split(matrix, 0.2, 4)
    result = auto_search(_wb(matrix), train, budget_seconds=120, seed=2, include=("lightfm",), max_trials_per_family=1)
    first = result.trials[0]
    assert set(first.stages) >= {10, 20} and first.choice.parts[0].params["epochs"] == max(
        first.stages, key=lambda e: first.stages[e])
    assert first.score == max(first.stages.values())


def test_time_validation_holds_out_each_user_s_latest_training_interactions() -> None:
    from training.auto import training_timestamps

    matrix = _groups(seed=10)
    times = matrix.copy()
    times.data = np.arange(1, times.nnz + 1, dtype=np.float64)  # later entries of a row are newer
    wb = WorkbenchData(_wb(matrix).data, timestamps=times)
    train, _ = random_split(matrix, 0.2, 3)
    stamps = training_timestamps(wb, train)
    (fold,) = validation_folds(train, 3, 0, timestamps=stamps)  # one fold: a time split has no seed
    for u in range(0, 160, 17):
        if fold.test[u].nnz:
            newest_train = stamps[u, fold.train[u].indices].toarray().max()
            assert stamps[u, fold.test[u].indices].toarray().min() > newest_train
    result = auto_search(wb, train, budget_seconds=30, seed=0, include=("popularity", "ease"), timestamps=stamps)
    assert "latest 20%" in result.validation
    with pytest.raises(ValueError, match="needs timestamps"):
        training_timestamps(_wb(matrix), train)


def test_a_blend_scored_on_the_sampled_users_equals_the_full_blend_on_them() -> None:
    from training.auto import _Fitted, _score_blend
    from training.models import make_algorithm
    from training.models.blend import ScoreBlend

    matrix = _groups(seed=11)
    train, _ = random_split(matrix, 0.2, 6)
    wb = _wb(matrix)
    fold = validation_folds(train, 1, 0, max_users=40)[0]
    assert len(fold.users) == 40
    data = InteractionData(wb.data.user_ids, wb.data.item_ids, fold.train)
    ease = make_algorithm("ease", regularization=20.0).fit(data)
    als = make_algorithm("als", factors=6, iterations=5, random_state=0).fit(data)
    choice = AutoChoice((families(wb)[2].first, families(wb)[3].first), (0.4, 0.6))
    sampled = _score_blend(wb, choice, [fold], [[ease], [_Fitted(als, snapshot=True)]], "ndcg@5", 5, 0)
    full = ScoreBlend([_Fitted(ease), _Fitted(als)], [0.4, 0.6]).fit(data)
    expected = evaluate_model(full, fold.train, fold.test, k=5, users=fold.users, auc=False)["ndcg@5"]
    assert sampled == pytest.approx(expected, abs=1e-6)
