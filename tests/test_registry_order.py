"""Finding 11 of issue 13: `models list` prints newest first, as its help says, and
`models rollback` walks back through the activation history (twice goes back two
activations, never forward again)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import redis as redis_lib
from click.testing import CliRunner, Result

from storage.registry import ModelRegistry, ModelVersion


def _save(registry: ModelRegistry, created: datetime, label: str) -> ModelVersion:
    """A small event-log version whose manifest says it was created at ``created``."""
    arrays = {"item_vectors": np.ones((2, 3), np.float32), "user_vectors": np.ones((1, 3), np.float32)}
    version = registry.save("als", {"label": label}, arrays, {"users": ["acme:u1"], "items": ["a", "b"]},
                            {}, f"fp-{label}", {"data_source": "solace"})
    manifest = {**version.manifest, "created_at": created.isoformat()}
    (version.path / "manifest.json").write_text(json.dumps(manifest))
    return version


def _run(args: list[str], home: Path, redis_url: str | None = None, prefix: str | None = None) -> Result:
    from solace.cli import cli

    env = {"SOLACE_HOME": str(home)}
    if redis_url is not None:
        env |= {"SOLACE_REDIS_URL": redis_url, "SOLACE_REDIS_PREFIX": str(prefix)}
    return CliRunner().invoke(cli, args, env=env)


def test_models_list_prints_newest_first(tmp_path: Path) -> None:
    home = tmp_path / "home"
    registry = ModelRegistry(home / "models")
    now = datetime.now(UTC)
    # saved in an order that is neither oldest nor newest first
    middle = _save(registry, now - timedelta(days=2), "middle")
    newest = _save(registry, now - timedelta(days=1), "newest")
    oldest = _save(registry, now - timedelta(days=3), "oldest")
    result = _run(["models", "list"], home)
    assert result.exit_code == 0, result.output
    listed = [line.split()[0] if not line.startswith("*") else line.split()[1]
              for line in result.output.splitlines() if line.strip()]
    assert listed == [newest.version, middle.version, oldest.version]
    assert "newest first" in _run(["models", "list", "--help"], home).output


def test_registry_previous_walks_back_through_the_activations(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    now = datetime.now(UTC)
    a, b, c = (_save(registry, now - timedelta(days=n), n_).version for n, n_ in ((3, "a"), (2, "b"), (1, "c")))
    for v in (a, b, c):
        registry.record_activation(v, "publish")
    assert registry.previous() == b
    registry.record_activation(b, "rollback")
    assert registry.active() == b and registry.previous() == a
    registry.record_activation(a, "rollback")
    assert registry.active() == a and registry.previous() is None
    # a new activation after rollbacks: rolling back returns to the version it replaced
    registry.record_activation(c, "promote")
    assert registry.previous() == a
    # republishing the active version is not a new step back
    registry.record_activation(c, "publish")
    assert registry.previous() == a


def test_registry_previous_skips_versions_deleted_since(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    now = datetime.now(UTC)
    a, b, c = (_save(registry, now - timedelta(days=n), n_).version for n, n_ in ((3, "a"), (2, "b"), (1, "c")))
    for v in (a, b, c):
        registry.record_activation(v, "publish")
    registry.delete(b)
    assert registry.previous() == a
    registry.record_activation(a, "rollback")
    assert registry.active() == a and registry.previous() is None


def test_rollback_twice_goes_back_two_activations(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    home = tmp_path / "home"
    registry = ModelRegistry(home / "models")
    now = datetime.now(UTC)
    a, b, c = (_save(registry, now - timedelta(days=n), n_).version for n, n_ in ((3, "a"), (2, "b"), (1, "c")))
    for v in (a, b, c):
        published = _run(["publish", v], home, redis_url, redis_prefix)
        assert published.exit_code == 0, published.output
    client = redis_lib.Redis.from_url(redis_url)
    active_key = f"{redis_prefix}:model:active"

    first = _run(["models", "rollback"], home, redis_url, redis_prefix)
    assert first.exit_code == 0 and f"rolled back to {b}" in first.output, first.output
    assert client.get(active_key) == b.encode() and registry.active() == b

    second = _run(["models", "rollback"], home, redis_url, redis_prefix)
    assert second.exit_code == 0 and f"rolled back to {a}" in second.output, second.output
    assert client.get(active_key) == a.encode() and registry.active() == a

    third = _run(["models", "rollback"], home, redis_url, redis_prefix)
    assert third.exit_code != 0
    errors = [line for line in third.output.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error: "), third.output
    assert client.get(active_key) == a.encode() and registry.active() == a

    help_text = _run(["models", "rollback", "--help"], home).output
    assert "before" in help_text and "twice" in help_text


@pytest.mark.parametrize("versions", [0, 1])
def test_rollback_without_an_earlier_activation_is_one_error_line(tmp_path: Path, versions: int) -> None:
    home = tmp_path / "home"
    registry = ModelRegistry(home / "models")
    if versions:
        v = _save(registry, datetime.now(UTC), "only").version
        registry.record_activation(v, "publish")
    result = _run(["models", "rollback"], home)
    assert result.exit_code != 0
    assert [line for line in result.output.splitlines() if line.strip()] == [
        "Error: no earlier activation to roll back to (see `solace models rollback --help`)"]
