"""``solace quickstart``: every stage on the embedded defaults, for a first look.

Loads the seed catalog, simulates a clearly labelled interaction history for the ``demo``
tenant, embeds, trains a LightFM hybrid, publishes to Redis and creates a demo API key.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from content_catalog.publish import publish_catalog
from content_catalog.seed import install_seed_catalog, load_seed_catalog
from serving.recovery import mark_restored
from solace.jobs import embed_catalog, publish, train_from_store
from solace.services import Services
from storage.api_keys import Role
from storage.user_state import sync_user_state
from training.simulate import SIMULATED_SOURCE, simulate_history

DEMO_TENANT = "demo"


@dataclass
class QuickstartResult:
    version: str
    metrics: dict[str, float]
    api_key: str
    example_user: str
    example_needs: list[str]
    n_resources: int
    n_events: int
    seconds: float


def _demo_key(services: Services) -> str:
    """Reuse the demo key kept under SOLACE_HOME (mode 0600) while it is valid."""
    path = services.settings.home / "demo_api_key"
    if path.is_file():
        secret = path.read_text().strip()
        if services.api_keys.authenticate(secret) is not None:
            return secret
    _key, secret = services.api_keys.create(DEMO_TENANT, Role.PLATFORM)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    return secret


def run_quickstart(
    services: Services, n_users: int = 600, say: Callable[[str], None] = print,
    train_params: dict[str, Any] | None = None,
) -> QuickstartResult:
    start = time.perf_counter()
    settings = services.settings
    settings.ensure_home()

    say("1/6 loading the seed catalog")
    seed = load_seed_catalog()
    counts = install_seed_catalog(services.catalog)
    say(f"    {len(seed)} resources ({counts['created']} new, {counts['updated']} updated)")
    publish_catalog(services.catalog, services.redis, services.keys)

    say(f"2/6 simulating an interaction history for {n_users} SIMULATED users (tenant '{DEMO_TENANT}')")
    history = simulate_history(services.catalog.servable(), n_users=n_users, random_state=settings.random_state)
    services.events.delete_source(DEMO_TENANT, SIMULATED_SOURCE)
    services.events.add_batch(DEMO_TENANT, history.events, source=SIMULATED_SOURCE)
    services.profiles.put_many(DEMO_TENANT, history.profiles)
    truth_path = settings.home / "simulation_truth.json"
    truth_path.write_text(json.dumps({"note": "SIMULATED users and needs, for demos and tests only",
                                      "needs": history.needs}))
    say(f"    {len(history.events)} simulated events")

    say("3/6 embedding the catalog (all-MiniLM-L6-v2, packaged, offline)")
    report = embed_catalog(services)
    say(f"    {report.encoded} encoded, {report.reused} unchanged")

    say("4/6 training a LightFM hybrid model (item and user features)")
    outcome = train_from_store(services, "lightfm", train_params, say=lambda m: say(f"    {m}"))
    shown = {k: round(v, 3) for k, v in outcome.metrics.items()}
    say(f"    version {outcome.version.version}: {shown}")

    say("5/6 publishing vectors to Redis")
    publish(services, outcome.version.version, action="quickstart")
    sync_user_state(
        services.redis, services.keys, DEMO_TENANT,
        (e for _t, e in services.events.iter_events(DEMO_TENANT)), history.profiles,
    )
    mark_restored(services)

    say("6/6 creating a demo API key")
    secret = _demo_key(services)
    example = sorted(history.needs)[0]
    return QuickstartResult(
        version=outcome.version.version, metrics=outcome.metrics, api_key=secret,
        example_user=example, example_needs=history.needs[example], n_resources=len(seed),
        n_events=len(history.events), seconds=time.perf_counter() - start,
    )
