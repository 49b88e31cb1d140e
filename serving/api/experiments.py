"""Experiments between model versions and policy variants, for a tenant's admin key.

Every rule is in ``serving.experiments`` (shared with the CLI and the console); these views
only parse, call and answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from flask import Blueprint, g, jsonify
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StringConstraints

from serving.auth import require
from serving.errors import ApiError
from serving.experiments import ExperimentNotFound
from serving.openapi import doc, parse_json
from serving.state import state
from storage.api_keys import Role
from storage.experiments import ArmSpec, ExperimentConflict, ExperimentRecord

bp = Blueprint("experiments", __name__, url_prefix="/v1")
T = TypeVar("T")

Name = Annotated[str, StringConstraints(min_length=1, max_length=24)]


class ArmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=12)]
    model_version: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    share: StrictFloat | StrictInt = Field(gt=0, le=1000)
    max_topic_share: StrictFloat | StrictInt | None = Field(default=None, gt=0, le=1)


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiment_id: Name = Field(description="1 to 24 of a-z, 0-9 and '-'; unique per tenant.")
    description: Annotated[str, StringConstraints(max_length=200)] = ""
    arms: list[ArmIn] = Field(min_length=2, max_length=6, description="The first arm is control.")


class ExperimentOut(BaseModel):
    experiment_id: str
    status: str
    description: str
    control: str
    arms: list[dict[str, object]]
    created_at: str
    started_at: str | None
    stopped_at: str | None
    stop_reason: str | None


class ExperimentList(BaseModel):
    experiments: list[ExperimentOut]


class ExperimentResults(BaseModel):
    experiment_id: str
    status: str
    control: str
    test: str
    sample_ratio: dict[str, object]
    guardrail_stops: list[str]
    arms: list[dict[str, object]]
    stop_reason: str | None


def _out(record: ExperimentRecord) -> dict[str, object]:
    return {
        "experiment_id": record.experiment_id, "status": record.status, "description": record.description,
        "control": record.control.name, "arms": [a.to_json() for a in record.arms],
        "created_at": record.created_at.isoformat(),
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "stopped_at": record.stopped_at.isoformat() if record.stopped_at else None,
        "stop_reason": record.stop_reason,
    }


def _tenant() -> str:
    tenant = g.api_key.tenant
    if not tenant:
        raise ApiError(403, "forbidden", "experiments belong to a tenant: use a tenant's admin key")
    return str(tenant)


def _call(fn: Callable[..., T], *args: object) -> T:
    try:
        return fn(*args)
    except ExperimentNotFound as exc:
        raise ApiError(404, "not_found", str(exc.args[0])) from None
    except ExperimentConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None


@bp.post("/experiments")
@require(Role.ADMIN)
@doc(json=ExperimentIn, ok=ExperimentOut, status=201, tags=["experiments"], errors=(400, 401, 403, 409, 422))
def create_experiment():
    """Create a draft experiment between model versions (and topic-cap variants).

    Users are put in arms by a stable hash of tenant, experiment and user id, in the shares
    given. Nothing is served differently until it is started.
    """
    body = parse_json(ExperimentIn)
    arms = [ArmSpec(a.name, a.model_version, float(a.share),
                    None if a.max_topic_share is None else float(a.max_topic_share)) for a in body.arms]
    record = _call(state().experiments().create, _tenant(), body.experiment_id, arms, body.description)
    return jsonify(_out(record)), 201


@bp.get("/experiments")
@require(Role.ADMIN)
@doc(ok=ExperimentList, tags=["experiments"], errors=(401, 403))
def list_experiments():
    """Your tenant's experiments, oldest first."""
    return jsonify({"experiments": [_out(r) for r in state().experiments().list(_tenant())]})


@bp.get("/experiments/<experiment_id>")
@require(Role.ADMIN)
@doc(ok=ExperimentResults, tags=["experiments"], errors=(401, 403, 404, 422))
def read_experiment(experiment_id: str):  # type: ignore[no-untyped-def]  # spectree reads view hints at run time
    """Results per arm: every outcome rate with its 95% interval, the difference to control
    with its interval and an always-valid p-value (mixture SPRT: safe to read every day), the
    sample-ratio check, and the guardrail (an arm significantly worse than control on
    content reports or distress stops the experiment)."""
    return jsonify(_call(state().experiments().read, _tenant(), experiment_id))


@bp.post("/experiments/<experiment_id>/start")
@require(Role.ADMIN)
@doc(ok=ExperimentOut, tags=["experiments"], errors=(401, 403, 404, 409, 422))
def start_experiment(experiment_id: str):  # type: ignore[no-untyped-def]  # spectree reads view hints at run time
    """Start a draft: its arms' versions go live beside the active one. One experiment runs
    per tenant at a time."""
    return jsonify(_out(_call(state().experiments().start, _tenant(), experiment_id)))


@bp.post("/experiments/<experiment_id>/stop")
@require(Role.ADMIN)
@doc(ok=ExperimentOut, tags=["experiments"], errors=(401, 403, 404, 409, 422))
def stop_experiment(experiment_id: str):  # type: ignore[no-untyped-def]  # spectree reads view hints at run time
    """Stop it: every user is served the active model again. To keep a winning arm, promote
    its version (``solace models promote``)."""
    return jsonify(_out(_call(state().experiments().stop, _tenant(), experiment_id)))
