"""What plain ``solace train`` ships, pinned: the algorithm and the parameters its manifest
records, so that moving where the defaults are written changes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner


def test_plain_train_ships_solace_lightfm_defaults(deployment: object, tmp_path: Path) -> None:
    services, _result = deployment  # type: ignore[misc]  # the fixture's tuple
    settings = services.settings
    home = tmp_path / "home"  # a copy: the new version stays out of the shared deployment's registry
    shutil.copytree(settings.home, home, ignore=shutil.ignore_patterns("redis.db*", "*.sock"))
    env = {"SOLACE_HOME": str(home), "SOLACE_THREADS": "1", "SOLACE_RANDOM_STATE": "7",
           "SOLACE_REDIS_URL": settings.redis_url, "SOLACE_REDIS_PREFIX": settings.redis_prefix}
    from solace.cli import cli

    result = CliRunner().invoke(cli, ["train"], env=env)
    assert result.exit_code == 0, result.output
    version = result.output.split("model version ")[1].split()[0]
    manifest = json.loads((home / "models" / version / "manifest.json").read_text())
    assert manifest["algorithm"] == "lightfm"
    # Solace's LightFM defaults, the seed and threads; since plain `train` is the `lightfm`
    # configuration, the manifest also records the parameters left at the library's
    # defaults (it recorded only the given ones before): the same model either way
    assert manifest["params"] == {"no_components": 32, "loss": "warp", "learning_rate": 0.05, "epochs": 40,
                                  "max_sampled": 20, "random_state": 7, "threads": 1,
                                  "item_alpha": 0.0, "user_alpha": 0.0, "binary": True,
                                  "use_item_features": True, "use_user_features": True}
    assert manifest["data_source"] == "solace" and manifest["holdout"]["split"] == "random"
    assert manifest["embedding_model"] == "all-MiniLM-L6-v2"


def test_plain_train_config_and_the_job_train_the_same_model(deployment: object, tmp_path: Path) -> None:
    """One training path: `train`, `train --config lightfm` and the jobs' train_from_store
    (the quick start's) build the same data and model, so with one seed and one thread they
    save the same vectors and holdout figures."""
    import numpy as np

    from solace.cli import cli
    from solace.jobs import train_from_store
    from solace.services import Services
    from storage.registry import ModelRegistry

    services, _result = deployment  # type: ignore[misc]  # the fixture's tuple
    settings = services.settings
    home = tmp_path / "home"
    shutil.copytree(settings.home, home, ignore=shutil.ignore_patterns("redis.db*", "*.sock"))
    env = {"SOLACE_HOME": str(home), "SOLACE_THREADS": "1", "SOLACE_RANDOM_STATE": "3",
           "SOLACE_REDIS_URL": settings.redis_url, "SOLACE_REDIS_PREFIX": settings.redis_prefix}
    versions = []
    for args in (["train"], ["train", "--config", "lightfm"]):
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 0, result.output
        versions.append(result.output.split("model version ")[1].split()[0])
    job = train_from_store(Services(settings.model_copy(update={"home": home})), "lightfm", random_state=3, threads=1)
    versions.append(job.version.version)
    registry = ModelRegistry(home / "models")
    loaded = [registry.get(v) for v in versions]
    first, first_arrays = loaded[0], loaded[0].arrays()
    for other in loaded[1:]:
        assert other.manifest["params"] == first.manifest["params"]
        assert other.manifest["metrics"] == first.manifest["metrics"]
        arrays = other.arrays()
        np.testing.assert_array_equal(arrays["item_vectors"], first_arrays["item_vectors"])
        np.testing.assert_array_equal(arrays["user_vectors"], first_arrays["user_vectors"])
