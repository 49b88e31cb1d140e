"""Training on Spark (issue 20): `solace train --engine spark` fits implicit-feedback ALS with
Spark MLlib and saves a version in exactly implicit ALS's registry format, so that publish,
serving and the ALS fold-in work unchanged.

Without Java or PySpark the tests that run Spark skip and say what to install; under
CI=true they fail instead (``.ci/run`` installs both). Spark runs on ``local[1]`` with one
block on tiny matrices: the cost is one JVM start per session plus a few small fits.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from tests.conftest import IN_CI, make_settings

pytestmark = pytest.mark.slow

MASTER = "local[1]"  # one master for every test: the session is started once and reused
TINY = ["--param", "factors=4", "--param", "iterations=5", "--param", "blocks=1"]


@pytest.fixture(scope="session")
def spark_available() -> None:
    from training.models.spark_als import spark_problem

    problem = spark_problem()
    if problem:
        message = f"{problem} (to run the tests of training on Spark)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def spark(spark_available: None) -> Any:
    from training.models.spark_als import spark_session

    return spark_session(MASTER)


def _planted(tmp_path: Path, n_users: int = 40) -> Path:
    """Two groups: users of group g engage with 6 of the 10 items of group g, nothing else;
    user and item ids are not in row order. An item nobody touched is named in
    ``items.csv`` (:func:`_with_untouched`)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "planted.csv"
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["user_id", "item_id", "weight"])
        for u in range(n_users):
            g = u % 2
            for i in rng.choice(np.arange(10) + 10 * g, size=6, replace=False):
                out.writerow([f"user-{(u * 7) % n_users:03d}-g{g}", f"item-{(int(i) * 3) % 20:02d}-g{int(i) // 10}", 1])
    with (tmp_path / "items.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([["item_id", "feature"], ["item-untouched-a", "kind:planted"]])
    return path


def _with_untouched(data: Path) -> list[str]:
    return ["--interactions", str(data), "--item-features", str(data.parent / "items.csv")]


def _seen(data: Path, users: list[str], items: list[str]) -> np.ndarray:
    """The planted file as a users x items 0/1 matrix in the version's id order."""
    matrix = np.zeros((len(users), len(items)))
    with data.open() as fh:
        for rec in csv.DictReader(fh):
            matrix[users.index(rec["user_id"]), items.index(rec["item_id"])] = 1.0
    return matrix


def _cli(args: list[str], home: Path, **env: str) -> Any:
    from solace.cli import cli

    base = {"SOLACE_HOME": str(home), "SOLACE_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", **env}
    return CliRunner().invoke(cli, args, env=base, catch_exceptions=False)


def _version(result: Any) -> str:
    lines = [line for line in result.stdout.splitlines() if line.startswith("model version ")]
    assert lines, result.stdout + result.stderr
    return lines[-1].split()[-1]


# ----------------------------------------------------------------------------- training and format
def test_spark_version_recovers_the_planted_groups_in_implicit_als_registry_format(
    spark: Any, tmp_path: Path,
) -> None:
    from recommender.foldin import foldin_settings, make_foldin
    from storage.registry import ModelRegistry

    data = _planted(tmp_path)
    home = tmp_path / "home"
    spark_run = _cli(["train", "--engine", "spark", "--spark-master", MASTER, *_with_untouched(data),
                      "--param", "regularization=0.1", "--param", "alpha=5", *TINY], home)
    assert spark_run.exit_code == 0, spark_run.output
    local_run = _cli(["train", "--algorithm", "als", *_with_untouched(data), "--param", "factors=4",
                      "--param", "iterations=5", "--param", "regularization=0.1", "--param", "alpha=5"], home)
    assert local_run.exit_code == 0, local_run.output
    registry = ModelRegistry(home / "models")
    on_spark, local = registry.get(_version(spark_run)), registry.get(_version(local_run))

    # the registry format: same algorithm family, arrays, shapes and ids, same parameter names
    assert on_spark.manifest["algorithm"] == local.manifest["algorithm"] == "als"
    assert set(local.manifest) <= set(on_spark.manifest)
    assert set(on_spark.manifest) - set(local.manifest) == {"engine"}
    assert set(on_spark.manifest["params"]) == set(local.manifest["params"]) - {"threads"}
    assert on_spark.ids() == local.ids()
    spark_arrays, local_arrays = on_spark.arrays(), local.arrays()
    assert {k: v.shape for k, v in spark_arrays.items()} == {k: v.shape for k, v in local_arrays.items()}
    assert set(on_spark.manifest["metrics"]) == set(local.manifest["metrics"])
    engine = on_spark.manifest["engine"]
    assert engine["name"] == "spark" and engine["master"] == MASTER
    assert engine["spark_params"]["regParam"] == pytest.approx(0.1 / 6)  # every user has 6 positives
    assert engine["spark_params"]["alpha"] == 5.0 and engine["spark_params"]["rank"] == 4
    # serving's fold-in reads implicit's meanings: the λ and α that were asked for
    assert foldin_settings("als", on_spark.manifest["params"]) == {"regularization": 0.1, "alpha": 5.0}

    # the planted structure, read from the registered arrays by id
    users, items = on_spark.ids()["users"], on_spark.ids()["items"]
    vectors, item_matrix = spark_arrays["user_vectors"], spark_arrays["item_vectors"]
    assert not item_matrix[items.index("item-untouched-a")].any()  # never a positive: no factors, as in implicit
    seen = _seen(data, users, items)
    for row, user in enumerate(users):
        scores = item_matrix @ vectors[row]
        top = [items[i] for i in np.argsort(-scores)[:6]]
        assert all(i.endswith(user[-3:]) for i in top), (user, top)  # items of the user's group
        scores[seen[row] > 0] = -np.inf
        best_unseen = items[int(np.argmax(scores))]
        assert best_unseen.endswith(user[-3:]), (user, best_unseen)  # what it would recommend

    # Spark's last step is the user step, and with λ = regParam x 6 for every user the fold-in
    # (the same step, with the manifest's λ and α) lands on the trained vectors
    foldin = make_foldin(item_matrix, "als", foldin_settings("als", on_spark.manifest["params"]),
                         spark_arrays["popularity"])
    rows = [np.flatnonzero(r) for r in seen]
    folded = foldin.user_vectors(item_matrix, rows, [np.ones(len(r)) for r in rows])
    np.testing.assert_allclose(folded, vectors, atol=1e-4 * float(np.abs(vectors).max()))


def test_evaluate_compares_spark_als_with_the_local_als_on_one_split(spark: Any, tmp_path: Path) -> None:
    data = _planted(tmp_path)
    out = tmp_path / "compare.json"
    result = _cli(["evaluate", "--interactions", str(data), "--compare", "als-ref64,spark-als",
                   "--set", "als-ref64.factors=4", "--set", "als-ref64.iterations=5",
                   "--set", "spark-als.factors=4", "--set", "spark-als.iterations=5",
                   "--set", "spark-als.blocks=1", "--set", f"spark-als.master={MASTER}", "--json", str(out)],
                  tmp_path / "home")
    assert result.exit_code == 0, result.output
    import json

    report = json.loads(out.read_text())
    assert set(report) - {"_run"} == {"als-ref64", "spark-als"}
    assert report["_run"]["configurations"]["spark-als"]["engine"] == "spark"
    assert report["_run"]["configurations"]["spark-als"]["params"]["master"] == MASTER
    # one held-out item per user (20% of 6): the planted groups put it in both top 10s
    r_local, r_spark = report["als-ref64"]["recall@10"], report["spark-als"]["recall@10"]
    assert r_spark >= 0.9 and abs(r_spark - r_local) <= 0.05 * max(r_local, r_spark), (r_local, r_spark)


# ----------------------------------------------------------------------------- published and served
def _events(user: str, items: list[str]) -> list[Any]:
    from core.events import Event

    now = datetime.now(UTC)
    return [Event(event_id=f"e-{uuid.uuid4().hex}", user_id=user, resource_id=r, type="like", timestamp=now)
            for r in items]


def test_a_spark_trained_version_is_published_and_served_through_the_normal_path(
    spark: Any, tmp_path: Path, redis_url: str, redis_prefix: str, encoder: Any,
) -> None:
    """Its own small deployment (not the shared session one): seed catalog, a simulated
    history, the packaged encoder; trained on Spark from the event log, then published."""
    from content_catalog.publish import publish_catalog
    from content_catalog.seed import install_seed_catalog
    from serving.app import create_app
    from solace.jobs import embed_catalog, publish, train_from_store
    from solace.services import Services
    from storage.api_keys import Role
    from storage.user_state import sync_user_state
    from training.simulate import SIMULATED_SOURCE, simulate_history

    services = Services(make_settings(tmp_path / "home", redis_url, redis_prefix))
    services.settings.ensure_home()
    install_seed_catalog(services.catalog)
    publish_catalog(services.catalog, services.redis, services.keys)
    history = simulate_history(services.catalog.servable(), n_users=60, random_state=3)
    services.events.add_batch("demo", history.events, source=SIMULATED_SOURCE)
    services.profiles.put_many("demo", history.profiles)
    embed_catalog(services)

    outcome = train_from_store(services, "als", {"factors": 8, "iterations": 5, "blocks": 1}, engine="spark",
                               spark_master=MASTER)
    version = outcome.version
    assert version.manifest["algorithm"] == "als" and version.manifest["engine"]["name"] == "spark"
    publish(services, version.version)
    sync_user_state(services.redis, services.keys, "demo",
                    (e for _t, e in services.events.iter_events("demo")), history.profiles)
    _key, secret = services.api_keys.create("demo", Role.PLATFORM)
    client = create_app(services.settings).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"

    trained_user = sorted(history.needs)[0]
    body = client.get(f"/v1/users/{trained_user}/recommendations?k=5").json
    assert body["model_version"] == version.version and body["source"] == "personalised", body
    assert body["items"]

    # a user the version never saw is folded in from their events with the manifest's λ and α
    newcomer = f"new-{uuid.uuid4().hex[:8]}"
    liked = [i["resource_id"] for i in body["items"] if not i["is_crisis_resource"]][:2]
    events = [{"event_id": e.event_id, "user_id": e.user_id, "resource_id": e.resource_id, "type": e.type,
               "timestamp": e.timestamp.isoformat()} for e in _events(newcomer, liked)]
    assert client.post("/v1/events", json={"events": events}).status_code == 202
    after = client.get(f"/v1/users/{newcomer}/recommendations?k=5").json
    assert after["model_version"] == version.version and after["source"] == "personalised", after


# ----------------------------------------------------------------------------- errors
def test_without_java_spark_training_exits_with_one_line_saying_what_to_install(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    data = _planted(tmp_path)
    env = {"PATH": str(empty), "JAVA_HOME": ""}
    for args in (["train", "--engine", "spark", "--interactions", str(data)],
                 ["train", "--engine", "spark"],
                 ["evaluate", "--interactions", str(data), "--compare", "als-ref64,spark-als"]):
        result = _cli(args, tmp_path / "home", **env)
        assert result.exit_code == 1, result.output
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
        assert "needs Java 17 or later" in result.stderr and "openjdk-17-jre-headless" in result.stderr
    assert not (tmp_path / "home" / "models").exists() or not any((tmp_path / "home" / "models").iterdir())


def test_an_old_java_is_named_with_its_version(tmp_path: Path) -> None:
    home = tmp_path / "jdk11"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text('#!/bin/sh\necho \'openjdk version "11.0.21" 2023-10-17\' >&2\n')
    java.chmod(0o755)
    result = _cli(["train", "--engine", "spark", "--interactions", str(_planted(tmp_path))], tmp_path / "home",
                  JAVA_HOME=str(home))
    assert result.exit_code == 1
    assert "found Java 11" in result.stderr and result.stderr.count("\n") == 1


def test_without_pyspark_spark_training_names_the_extra(tmp_path: Path) -> None:
    """A real interpreter where ``import pyspark`` fails, as on an install without the extra."""
    code = ("import sys; sys.modules['pyspark'] = None; from solace.cli import main; "
            "sys.argv = ['solace', 'train', '--engine', 'spark']; main()")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLACE_")}
    env["SOLACE_HOME"] = str(tmp_path / "home")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert done.stderr == "Error: training on Spark needs PySpark: pip install -e '.[spark]'\n"


@pytest.mark.parametrize(("args", "expected"), [
    (["--spark-master", "local[2]"], "only used with --engine spark"),
    (["--engine", "spark", "--algorithm", "lightfm"], "the spark engine trains als only, not lightfm"),
    (["--engine", "spark", "--auto"], "--auto searches the local engines only"),
])
def test_spark_options_are_refused_where_they_cannot_apply(tmp_path: Path, args: list[str], expected: str) -> None:
    result = _cli(["train", *args], tmp_path / "home")
    assert result.exit_code == 2 and expected in result.stderr, result.output


@pytest.mark.parametrize(("args", "expected"), [
    (["--param", "master=mesos://nowhere"], "master='mesos://nowhere': a Spark master URL"),
    (["--spark-master", "local[0]"], "master='local[0]': a Spark master URL"),
    (["--param", "user_feature_weight=0.5"], "user_feature_weight=0.5: unknown parameter of als on Spark"),
    (["--param", "factors=0"], "factors=0: must be at least 1"),
    (["--config", "hybrid-als"], "hybrid-als is a blend; the spark engine trains single models only"),
    (["--config", "lightfm-ref64"], "the spark engine trains als only, not lightfm"),
])
def test_spark_parameters_are_checked_before_any_data_is_read(
    spark_available: None, tmp_path: Path, args: list[str], expected: str,
) -> None:
    data = _planted(tmp_path)
    result = _cli(["train", "--engine", "spark", "--interactions", str(data), *args], tmp_path / "home")
    assert result.exit_code == 2 and expected in result.stderr, result.output


def test_spark_configurations_resolve_without_starting_spark() -> None:
    from training.configs import CONFIGS, on_engine, resolve_configs
    from training.models import ParamError

    cfg = resolve_configs(["spark-als"], {"spark-als": {"master": "local[2]", "blocks": "2"}})[0]
    assert cfg.engine == "spark" and cfg.algorithm == "als"
    assert cfg.params == {**CONFIGS["als-ref64"].params, "master": "local[2]", "blocks": 2}
    moved = on_engine(resolve_configs(["als-ref64"])[0], "spark")
    assert moved.engine == "spark" and moved.params == CONFIGS["als-ref64"].params
    with pytest.raises(ParamError, match="threads"):
        resolve_configs(["spark-als"], {"spark-als": {"threads": 2}})
    code = ("import sys; from training.configs import resolve_configs, model_for; "
            "model_for(resolve_configs(['spark-als'])[0], 1, 1); print('pyspark' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "False", done.stderr
