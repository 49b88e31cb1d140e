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
