"""The bundled seed catalog: original resources shipped with the package.

The seed is approved by ``solace-seed-review`` so the quick start has something to serve;
an operator's clinical reviewers should re-review it before production use.
:func:`install_seed_catalog` is the one trusted path that approves it: the approval comes
from this code (as global staff with the reviewer right), never from the files' ``status``
or ``reviewed_by``, and it goes through the same store rule as every other import. The
generic ``solace catalog import`` of these files lands them as drafts.
"""

from __future__ import annotations

from importlib import resources as importlib_resources

import yaml

from content_catalog.access import Actor
from content_catalog.schema import Resource
from content_catalog.store import CatalogStore

SEED_FILES = ("articles.yaml", "exercises.yaml", "groups.yaml", "crisis.yaml")
SEED_REVIEWER = "solace-seed-review"


def load_seed_catalog() -> list[Resource]:
    folder = importlib_resources.files("content_catalog") / "seed"
    out: list[Resource] = []
    for name in SEED_FILES:
        path = folder / name
        if not path.is_file():
            continue
        for record in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            out.append(Resource.model_validate(record))
    return out


def install_seed_catalog(store: CatalogStore) -> dict[str, int]:
    """Add or update the bundled seed in the global catalog, approved as ``solace-seed-review``.

    Only the packaged files are accepted here (no path argument), so this trust cannot be
    pointed at another file. Unchanged resources are left untouched, so re-running the
    quick start changes nothing.
    """
    seed = load_seed_catalog()
    actor = Actor(SEED_REVIEWER, tenant=None, global_staff=True, reviewer=True)
    return store.import_resources(seed, actor, approve=True, trusted=True)
