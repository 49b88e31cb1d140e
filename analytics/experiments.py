"""Experiments between model versions and policy variants: what a valid experiment is,
which arm a user is in, and what the results say.

The rules live here once; the CLI, the admin API and the console call them through
``serving.experiments``. Results use the always-valid mSPRT p-value (see
``analytics.stats``): a team that looks at the figures every morning does not inflate its
false-positive rate by looking, which a fixed-horizon test would. The guardrail stops an arm
whose content-report or distress rate is significantly above control's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from analytics.outcomes import ExperimentReading, OutcomeCounts, effectiveness, read_experiment
from analytics.stats import Interval, assign
from core.experiments import check_arm_name, check_experiment_id
from storage.experiments import ArmSpec, ExperimentRecord

MAX_ARMS = 6


def new_experiment(
    tenant: str, experiment_id: str, arms: list[ArmSpec], known_versions: set[str], description: str = "",
) -> ExperimentRecord:
    """A draft experiment, checked: the first arm is control; shares are positive; every arm
    names a version the registry holds; arms differ in version or policy."""
    check_experiment_id(experiment_id)
    if not 2 <= len(arms) <= MAX_ARMS:
        raise ValueError(f"an experiment has 2 to {MAX_ARMS} arms (the first is control)")
    names = [check_arm_name(a.name) for a in arms]
    if len(set(names)) != len(names):
        raise ValueError("arm names must differ")
    for arm in arms:
        if not (math.isfinite(arm.share) and arm.share > 0):
            raise ValueError(f"arm {arm.name!r}: share must be a positive number")
        if arm.model_version not in known_versions:
            raise ValueError(f"arm {arm.name!r}: no model version {arm.model_version!r} in the registry")
        if arm.max_topic_share is not None and not (0 < arm.max_topic_share <= 1):
            raise ValueError(f"arm {arm.name!r}: max_topic_share must be in (0, 1]")
    if len(description) > 200:
        raise ValueError("description: at most 200 characters")
    return ExperimentRecord(tenant=tenant, experiment_id=experiment_id, arms=arms, description=description)


@dataclass(frozen=True)
class ExperimentPlan:
    """A running experiment as serving holds it: enough to put a user in an arm."""

    experiment_id: str
    arms: tuple[ArmSpec, ...]

    @classmethod
    def from_json(cls, raw: bytes | str) -> "ExperimentPlan":
        data = json.loads(raw)
        return cls(str(data["experiment_id"]), tuple(ArmSpec.from_json(a) for a in data["arms"]))

    def arm_for(self, tenant: str, user_id: str) -> ArmSpec:
        name = assign(tenant, self.experiment_id, user_id, [a.name for a in self.arms], [a.share for a in self.arms])
        return next(a for a in self.arms if a.name == name)


def _interval(value: Interval | int) -> Any:
    if isinstance(value, Interval):
        return {"estimate": value.estimate, "low": value.low, "high": value.high}
    return value


def results(record: ExperimentRecord, counts: dict[str, dict[str, int]], users: dict[str, int],
            alpha: float = 0.05) -> tuple[dict[str, Any], ExperimentReading]:
    """The figures of each arm and its comparison with control, as JSON, with the reading
    (whose ``stop_arms`` the guardrail acts on)."""
    names = [a.name for a in record.arms]
    per_arm = {n: OutcomeCounts(**counts.get(n, {})) for n in names}
    reached = {n: users.get(n, 0) for n in names}
    shares = {a.name: a.share for a in record.arms}
    reading = read_experiment(reached, shares, per_arm, record.control.name, alpha=alpha)
    arms_json = []
    for arm in record.arms:
        c = per_arm[arm.name]
        figures = {k: _interval(v) for k, v in effectiveness(c).items()}
        figures["distress_events"] = c.distress
        entry: dict[str, Any] = {**arm.to_json(), "users": reached[arm.name], "figures": figures}
        if arm.name != record.control.name:
            entry["against_control"] = [
                {"metric": r.metric, "difference": _interval(r.difference), "p_value": r.p_value,
                 "significant": r.significant} for r in reading.comparisons.get(arm.name, [])]
        arms_json.append(entry)
    body = {
        "experiment_id": record.experiment_id, "status": record.status, "description": record.description,
        "control": record.control.name,
        "created_at": record.created_at.isoformat(),
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "stopped_at": record.stopped_at.isoformat() if record.stopped_at else None,
        "stop_reason": record.stop_reason,
        "test": f"mixture SPRT (always valid at every look), alpha {alpha}",
        "sample_ratio": {"p_value": reading.sample_ratio_p, "mismatch": reading.sample_ratio_mismatch},
        "guardrail_stops": reading.stop_arms,
        "arms": arms_json,
    }
    return body, reading
