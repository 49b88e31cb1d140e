"""Creating, starting, stopping and reading experiments: the one service the admin API, the
CLI and the console call.

Starting writes every arm's model version to Redis (beside the active one, never switching
it) and pins those versions, and only then publishes the plan serving reads, so no worker
sees an arm whose model it cannot load. Stopping removes the plan: the next answer comes
from the active model again. Promotion of a winning arm goes through the registry as any
version does (``solace models promote``).
"""

from __future__ import annotations

import builtins

import logging
import threading
import time
from dataclasses import dataclass

import redis
from sqlalchemy import Engine

from analytics.experiments import new_experiment, results
from serving.publish import publish_version
from storage.experiments import ArmSpec, ExperimentConflict, ExperimentRecord, ExperimentStore
from storage.keyspace import Keyspace
from storage.redis_conn import text
from storage.registry import ModelRegistry, trained_on_store

log = logging.getLogger("solace.experiments")


class ExperimentNotFound(KeyError):
    pass


@dataclass
class ExperimentService:
    engine: Engine
    client: redis.Redis
    keys: Keyspace
    registry: ModelRegistry

    @property
    def store(self) -> ExperimentStore:
        return ExperimentStore(self.engine, self.client, self.keys)

    def create(self, tenant: str, experiment_id: str, arms: list[ArmSpec], description: str = "") -> ExperimentRecord:
        known = {v.version for v in self.registry.list()}
        return self.store.create(new_experiment(tenant, experiment_id, arms, known, description))

    def get(self, tenant: str, experiment_id: str) -> ExperimentRecord:
        record = self.store.get(tenant, experiment_id)
        if record is None:
            raise ExperimentNotFound(f"no experiment {experiment_id!r} for this tenant")
        return record

    def list(self, tenant: str | None = None) -> builtins.list[ExperimentRecord]:
        return self.store.list(tenant)

    def start(self, tenant: str, experiment_id: str) -> ExperimentRecord:
        record = self.get(tenant, experiment_id)
        if record.status != "draft":
            raise ExperimentConflict(f"experiment {experiment_id!r} is {record.status}: only a draft starts "
                             "(create a new experiment to run again, so results never mix)")
        known = {v.version for v in self.registry.list()}
        missing = [a.model_version for a in record.arms if a.model_version not in known]
        if missing:
            raise ValueError(f"model versions no longer in the registry: {', '.join(missing)}")
        if not self.store.transition(tenant, experiment_id, "draft", "running"):
            raise ExperimentConflict(f"experiment {experiment_id!r} changed meanwhile: read it again")
        try:
            self.store.publish_pinned()
            active = self.client.get(self.keys.active_model)
            for version in sorted({a.model_version for a in record.arms}):
                if text(active) == version:
                    continue
                stored = self.registry.get(version)
                publish_version(stored, self.client, self.keys, tenant=None if trained_on_store(stored) else tenant,
                                activate=False)
            self.store.publish_running(tenant)
        except Exception:
            self.store.transition(tenant, experiment_id, "running", "stopped", "could not be started")
            self.store.publish_running(tenant)
            raise
        return self.get(tenant, experiment_id)

    def stop(self, tenant: str, experiment_id: str, reason: str = "stopped by an admin") -> ExperimentRecord:
        record = self.get(tenant, experiment_id)
        if record.status == "draft":
            self.store.transition(tenant, experiment_id, "draft", "stopped", reason)
        elif record.status == "running":
            self.store.transition(tenant, experiment_id, "running", "stopped", reason)
        else:
            raise ExperimentConflict(f"experiment {experiment_id!r} is already stopped")
        self.store.publish_running(tenant)
        return self.get(tenant, experiment_id)

    def read(self, tenant: str, experiment_id: str) -> dict[str, object]:
        """The results, and the guardrail applied: reading a running experiment whose arm is
        significantly worse on a harm signal stops it."""
        record = self.get(tenant, experiment_id)
        body, reading = results(record, self.store.counts(tenant, experiment_id),
                                self.store.users_per_arm(tenant, experiment_id))
        if record.status == "running" and reading.stop_arms:
            self.guardrail_stop(record, reading.stop_arms)
            record = self.get(tenant, experiment_id)
            body, _ = results(record, self.store.counts(tenant, experiment_id),
                              self.store.users_per_arm(tenant, experiment_id))
        return body

    def guardrail_stop(self, record: ExperimentRecord, arms: builtins.list[str]) -> None:
        reason = (f"guardrail: arm {', '.join(arms)} had a content-report or distress rate significantly "
                  f"above control {record.control.name!r}")
        if self.store.transition(record.tenant, record.experiment_id, "running", "stopped", reason):
            log.warning("experiment stopped by its guardrail",
                        extra={"experiment": record.experiment_id, "arms": arms})
            self.store.publish_running(record.tenant)

    def restore(self) -> int:
        """After Redis lost its state: every running experiment's arm versions and plan."""
        active = self.client.get(self.keys.active_model)
        for record in self.store.list(status="running"):
            for version in sorted({a.model_version for a in record.arms}):
                if text(active) == version:
                    continue
                try:
                    stored = self.registry.get(version)
                except (KeyError, FileNotFoundError, ValueError):
                    log.error("an experiment's model version cannot be read; stopping it",
                              extra={"experiment": record.experiment_id})
                    self.store.transition(record.tenant, record.experiment_id, "running", "stopped",
                                          f"model version {version} could not be read")
                    break
                publish_version(stored, self.client, self.keys,
                                tenant=None if trained_on_store(stored) else record.tenant, activate=False)
        return self.store.restore_all()


class GuardrailWatch:
    """Checks the guardrail of experiments that just received events, at most once per
    ``interval`` seconds per experiment in a worker (a few rows of SQL each time)."""

    def __init__(self, interval: float = 5.0) -> None:
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def due(self, tenant: str, experiment_id: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get((tenant, experiment_id), -1e9) < self.interval:
                return False
            self._last[(tenant, experiment_id)] = now
            return True

    def due_any(self, names: set[str]) -> bool:
        """True (and remembered) for the first of ``names`` not checked within the interval."""
        return any([self.due("", n) for n in sorted(names)])

    def check(self, service: ExperimentService, tenant: str, experiment_ids: set[str]) -> None:
        for experiment_id in sorted(experiment_ids):
            if self.due(tenant, experiment_id):
                try:
                    service.read(tenant, experiment_id)
                except ExperimentNotFound:
                    continue
