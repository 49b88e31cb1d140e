"""The offline jobs as functions, shared by the CLI, the quick start and the tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from core.encoder import Encoder, get_encoder, model_name
from core.events import TimeWindow
from solace.services import Services
from storage.embeddings import EmbedReport, TextVectorCache, embed_cached, embed_texts
from storage.events import log_position
from storage.registry import STORE_DATA_SOURCE, trained_on_store
from training.readers import LoadError, RowProblem, read_item_text
from training.pipeline import ConfigCandidate, TrainOutcome, embedding_manifest, train_version

Say = Callable[[str], None]



def encoder_for(services: Services) -> Encoder:
    return get_encoder(services.settings.embedding_model, services.settings.threads)


def embed_catalog(services: Services, progress: bool = False) -> EmbedReport:
    """Embed every servable resource whose text changed (approved and not retired)."""
    texts = {r.id: r.text_for_embedding() for r in services.catalog.servable()}
    return embed_texts(
        texts, services.embeddings, encoder_for(services),
        batch_size=services.settings.embedding_batch_size, progress=progress,
    )


def embed_item_text_files(services: Services, paths: Sequence[Path], progress: bool = False) -> EmbedReport:
    """Embed the texts of item-text files into the per-text cache that ``solace train``,
    ``evaluate`` and ``tune`` read, so they then encode nothing (or only what changed).

    Every file is read before anything is encoded: one bad row anywhere raises a
    :class:`LoadError` naming file and line, and nothing is stored. The report counts
    distinct texts over all files.
    """
    problems: list[RowProblem] = []
    texts: list[str] = []
    for path in paths:
        texts.extend(read_item_text(path, problems).values())
    if problems:
        raise LoadError(problems)
    settings = services.settings
    cache = TextVectorCache.in_dir(settings.cache_dir)
    try:
        _vectors, report = embed_cached(
            texts, cache, model_name(settings.embedding_model), lambda: encoder_for(services),
            batch_size=settings.embedding_batch_size, progress=progress,
        )
    finally:
        cache.close()
    return report


def train_from_store(
    services: Services, algorithm: str, params: dict[str, Any] | None = None, say: Say | None = None,
    random_state: int | None = None, threads: int | None = None, engine: str = "local",
    spark_master: str | None = None,
) -> TrainOutcome:
    """Train ``algorithm`` on the event log and catalog and save a version.

    ``random_state`` and ``threads`` default to the settings (``solace train --seed/--threads``
    override them). ``params`` are merged over the configuration of that name (Solace's
    defaults for the algorithm), so ``--param epochs=60`` changes the epochs only. ``engine="spark"`` fits ALS on Spark MLlib
    at ``spark_master`` (``training.models.spark_als``): the version is an ``als`` version
    like the local one, so publish and fold-in treat it alike.
    """
    from training.configs import configuration
    from training.store_data import store_workbench_data

    settings = services.settings
    seed = settings.random_state if random_state is None else random_state
    n_threads = settings.threads if threads is None else threads
    cfg = configuration(algorithm, params or {}, engine, spark_master)  # ParamError before any data is read
    encoder_name = encoder_for(services).name
    position = log_position(services.engine)  # before reading: later events are folded in
    wb = store_workbench_data(services.engine, encoder_name, seed, TimeWindow.of(settings))  # the API's event times
    return train_version(
        wb, ConfigCandidate(cfg), services.registry, random_state=seed, threads=n_threads, progress=say,
        extra={**embedding_manifest(encoder_name, wb.data.item_embeddings), "data_source": STORE_DATA_SOURCE,
               "event_log_position": position},
    )


def publish(services: Services, version: str, action: str = "publish", tenant: str | None = None) -> dict[str, int]:
    """Write a version's vectors and the servable catalog to Redis; switch serving to it
    (``serving.activation.activate_version``, which the console's models page uses too)."""
    from serving.activation import activate_version

    return activate_version(services, services.catalog, version, action, tenant)


def prune_versions_past_retention(services: Services, cutoff: datetime) -> tuple[list[str], str | None]:
    """Delete stored versions trained on the event log before ``cutoff``.

    Their user vectors were learnt from events that retention has now removed. The active
    version is kept, since deleting it would stop serving, and is returned so the caller can
    ask for a retrain. Versions trained on a data scientist's files hold no event-log data
    and are left alone.
    """
    registry = services.registry
    active = registry.active()
    removed, stale_active = [], None
    for version in registry.list():
        if not trained_on_store(version) or datetime.fromisoformat(version.manifest["created_at"]) >= cutoff:
            continue
        if version.version == active:
            stale_active = active
            continue
        registry.delete(version.version)
        removed.append(version.version)
    return removed, stale_active
