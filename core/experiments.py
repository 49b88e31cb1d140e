"""How an answer names the experiment arm that produced it, so events join back to the arm.

A response served inside an experiment gets a recommendation id ``<24 hex>.<experiment>.<arm>``;
a platform sends it back with the events it causes, and ingestion credits those events to
that arm. The tag is what was actually served, so it is trusted over recomputing the
assignment (a user whose arm was served from a cached list before a share changed still
counts where they were). A forged tag can only skew the sending tenant's own experiment:
ingestion credits only arms of that tenant's running experiments.
"""

from __future__ import annotations

import re
import uuid

# Short enough that a tagged id fits the 64 characters events accept.
EXPERIMENT_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])?")
ARM_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?")
_TAGGED = re.compile(r"([0-9a-f]{24})\.(" + EXPERIMENT_ID.pattern + r")\.(" + ARM_NAME.pattern + r")")


def check_experiment_id(value: str) -> str:
    if not EXPERIMENT_ID.fullmatch(value):
        raise ValueError(f"{value!r}: an experiment id is 1 to 24 of a-z, 0-9 and '-' (not at either end)")
    return value


def check_arm_name(value: str) -> str:
    if not ARM_NAME.fullmatch(value):
        raise ValueError(f"{value!r}: an arm name is 1 to 12 of a-z, 0-9 and '-' (not at either end)")
    return value


def tagged_recommendation_id(experiment_id: str, arm: str) -> str:
    return f"{uuid.uuid4().hex[:24]}.{experiment_id}.{arm}"


def arm_of(recommendation_id: str | None) -> tuple[str, str] | None:
    """``(experiment id, arm)`` named by a recommendation id, or None for an untagged one."""
    if not recommendation_id:
        return None
    match = _TAGGED.fullmatch(recommendation_id)
    return (match.group(2), match.group(3)) if match else None
