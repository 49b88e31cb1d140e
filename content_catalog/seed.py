"""The bundled seed catalog: original resources shipped with the package.

The seed is marked approved by ``solace-seed-review`` so the quick start has something to
serve; an operator's clinical reviewers should re-review it before production use.
"""

from __future__ import annotations

from importlib import resources as importlib_resources

import yaml

from content_catalog.schema import Resource

SEED_FILES = ("articles.yaml", "exercises.yaml", "groups.yaml", "crisis.yaml")


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
