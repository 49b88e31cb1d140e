"""Model versions on disk: one folder each, a manifest and the arrays serving needs.

A version is immutable once written (written to a temporary folder, then renamed), so a
half-written model can never be published. The registry also remembers which version is
active and the history of activations, which is what ``rollback`` walks back.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

ARRAY_NAMES = (
    "item_vectors", "user_vectors", "user_feature_vectors", "item_feature_vectors",
    "item_embeddings", "popularity", "cluster_centroids",
)
# The data source recorded for everything trained on Solace's own event log and catalog,
# whose user ids are tenant-scoped keys (``core.ids.user_key``).
STORE_DATA_SOURCE = "solace"
_LIBRARIES = ("lightfm-next", "implicit", "numpy", "scipy", "sentence-transformers", "solace")


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


def fingerprint(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


@dataclass
class ModelVersion:
    version: str
    path: Path
    manifest: dict[str, Any]

    def arrays(self) -> dict[str, np.ndarray]:
        with np.load(self.path / "arrays.npz", allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def ids(self) -> dict[str, list[str]]:
        return json.loads((self.path / "ids.json").read_text())


def trained_on_store(version: ModelVersion) -> bool:
    """Whether the version's user ids are Solace's ``tenant:user`` keys (trained on the event
    log), rather than the ids of a data scientist's files, which name no tenant."""
    # "solace store": what `solace train --config` on the store recorded before STORE_DATA_SOURCE
    return version.manifest.get("data_source", STORE_DATA_SOURCE) in (STORE_DATA_SOURCE, "solace store")


class ModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def save(
        self,
        algorithm: str,
        params: dict[str, Any],
        arrays: dict[str, np.ndarray | None],
        ids: dict[str, list[str]],
        metrics: dict[str, Any],
        data_fingerprint: str,
        extra: dict[str, Any] | None = None,
    ) -> ModelVersion:
        created = datetime.now(UTC)
        # named after the configuration when there is one (`train --config hybrid` -> hybrid-...)
        label = (extra or {}).get("configuration") or algorithm
        version = f"{label}-{created:%Y%m%dT%H%M%S}-{fingerprint(params, data_fingerprint, created.isoformat())[:6]}"
        manifest = {
            "version": version,
            "algorithm": algorithm,
            "params": params,
            "data_fingerprint": data_fingerprint,
            "metrics": metrics,
            "libraries": library_versions(),
            "created_at": created.isoformat(),
            "n_users": len(ids.get("users", [])),
            "n_items": len(ids.get("items", [])),
            **(extra or {}),
        }
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            np.savez(staging / "arrays.npz", **{k: v for k, v in arrays.items() if v is not None})  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle
            (staging / "ids.json").write_text(json.dumps(ids))
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
            os.replace(staging, self.root / version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return ModelVersion(version, self.root / version, manifest)

    def get(self, version: str) -> ModelVersion:
        path = self.root / version
        if not (path / "manifest.json").is_file() or "/" in version or version.startswith("."):
            raise KeyError(f"no model version {version!r} in {self.root}")
        return ModelVersion(version, path, json.loads((path / "manifest.json").read_text()))

    def list(self) -> builtins.list[ModelVersion]:
        out = []
        for path in sorted(self.root.iterdir()):
            if path.is_dir() and not path.name.startswith(".") and (path / "manifest.json").is_file():
                out.append(ModelVersion(path.name, path, json.loads((path / "manifest.json").read_text())))
        # oldest first; the name breaks ties of versions created in the same instant
        return sorted(out, key=lambda v: (v.manifest["created_at"], v.version))

    # --- activation history ---
    @property
    def _history_path(self) -> Path:
        return self.root / "activations.json"

    def activations(self) -> builtins.list[dict[str, str]]:
        if not self._history_path.is_file():
            return []
        return json.loads(self._history_path.read_text())

    def active(self) -> str | None:
        history = self.activations()
        return history[-1]["version"] if history else None

    def record_activation(self, version: str, action: str, tenant: str | None = None) -> None:
        """``tenant``: the platform a file-trained version's users were published for, which
        is what lets erasure find that platform's users in it later."""
        history = self.activations()
        entry = {"version": version, "action": action, "at": datetime.now(UTC).isoformat()}
        if tenant is not None:
            entry["tenant"] = tenant
        history.append(entry)
        tmp = self._history_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(history, indent=2))
        os.replace(tmp, self._history_path)

    def activation_stack(self) -> builtins.list[str]:
        """The versions a run of rollbacks would go back through, oldest first, the active
        one last.

        The history file records every activation, rollbacks included, so it cannot be
        read backwards as it is: after A, B, C and one rollback to B, the entry before the
        last is C, and a second rollback would go forward to C again. Replaying it as a
        stack fixes that: a publish or promote pushes its version (unless it is already
        active: republishing is not a step), and a rollback to a version below the top
        pops down to it. So rollback twice goes back two activations, and a new activation
        after rollbacks is undone by the next rollback. A rollback entry naming a version
        not on the stack (a history written before this rule) is taken as an activation.
        """
        stack: builtins.list[str] = []
        for entry in self.activations():
            version = entry["version"]
            if entry.get("action") == "rollback" and version in stack[:-1]:
                while stack[-1] != version:
                    stack.pop()
            elif not stack or stack[-1] != version:
                stack.append(version)
        return stack

    def previous(self) -> str | None:
        """The version ``rollback`` returns to: the nearest one below the active version on
        :meth:`activation_stack` that is still stored (retention may have deleted some)."""
        stack = self.activation_stack()
        current = stack[-1] if stack else None
        for version in reversed(stack[:-1]):
            if version != current and self._stored(version):
                return version
        return None

    def _stored(self, version: str) -> bool:
        try:
            self.get(version)
        except KeyError:
            return False
        return True

    def published_for(self, version: str) -> set[str]:
        """Tenants a file-trained version's user vectors were published for."""
        return {e["tenant"] for e in self.activations() if e["version"] == version and "tenant" in e}

    def delete(self, version: str) -> None:
        """Remove a version from disk: renamed away first, so it disappears at once."""
        path = self.get(version).path
        trash = self.root / f".deleted-{version}-{os.getpid()}"
        os.replace(path, trash)
        shutil.rmtree(trash, ignore_errors=True)

    # --- erasure ---
    def erase_users(self, ids_for: Callable[[ModelVersion], Collection[str]]) -> int:
        """Remove the user ids ``ids_for(version)`` names, and their vector rows, from every
        version that holds them; returns how many versions were rewritten.

        A version is otherwise immutable, so it is rewritten whole in a staging folder and
        swapped in by two renames: a reader sees the old version, the new one, or (between
        the renames) none, never ids and vectors of different shapes from one folder.
        """
        rewritten = 0
        for version in self.list():
            doomed = set(ids_for(version))
            if not doomed:
                continue
            ids = version.ids()
            users = ids.get("users", [])
            keep = np.array([u not in doomed for u in users], dtype=bool)
            if keep.all():
                continue
            arrays = version.arrays()
            if "user_vectors" in arrays:
                arrays["user_vectors"] = arrays["user_vectors"][keep]
            ids["users"] = [u for u, k in zip(users, keep) if k]
            manifest = {**version.manifest, "n_users": len(ids["users"])}
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
            trash = self.root / f".erased-{version.version}-{os.getpid()}"
            try:
                for extra in version.path.iterdir():
                    if extra.name not in ("arrays.npz", "ids.json", "manifest.json") and extra.is_file():
                        shutil.copy2(extra, staging / extra.name)
                np.savez(staging / "arrays.npz", **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle
                (staging / "ids.json").write_text(json.dumps(ids))
                (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
                os.replace(version.path, trash)
                os.replace(staging, version.path)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            shutil.rmtree(trash, ignore_errors=True)
            rewritten += 1
        return rewritten
