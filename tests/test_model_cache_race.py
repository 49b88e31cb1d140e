"""A worker's first requests arrive together: every one of them gets the model.

Under load, a worker that had just booted answered its first request with 503 "no active
model" (about one run in eight of the Redis fault test): one thread recorded the new
version and catalog while building the pair, and a second thread took that as "nothing
changed" and read the still-empty pair.
"""

from __future__ import annotations

import threading
import time

from recommender.catalog_view import CatalogView
from serving.model_cache import ServingCache


def test_concurrent_first_refresh_never_sees_a_half_built_cache(deployment, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    services, _ = deployment
    client, keys = services.redis, services.keys
    active, catalog_version = client.get(keys.active_model), client.get(keys.catalog_version)
    assert active is not None
    cache = ServingCache(client, keys)

    real_build = CatalogView.build
    building = threading.Event()

    def slow_build(*args, **kwargs):  # type: ignore[no-untyped-def]  # the classmethod's own signature
        building.set()
        time.sleep(0.3)  # the first thread is inside the rebuild while the second arrives
        return real_build(*args, **kwargs)

    monkeypatch.setattr(CatalogView, "build", staticmethod(slow_build))
    seen: list[object] = []

    def first_request() -> None:
        cache.refresh(active, catalog_version)
        seen.append(cache.pair()[0])

    a = threading.Thread(target=first_request)
    a.start()
    assert building.wait(5)
    first_request()  # the second request, while the first is still building
    a.join()
    assert len(seen) == 2 and all(m is not None for m in seen), "a request saw no model while another built it"
    assert {m.version for m in seen} == {active.decode()}  # type: ignore[union-attr]  # checked not None above
