"""Per-resource effectiveness as the CLI and the editor API show it, from the rollups.

One function for both, so a figure means the same wherever it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from analytics.outcomes import FlagRule, Interval, OutcomeCounts, effectiveness, flag_reasons
from storage.outcomes import OutcomeStore, totals


@dataclass
class ResourceFigures:
    resource_id: str
    counts: OutcomeCounts
    figures: dict[str, Interval | int]
    flags: list[str]

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"resource_id": self.resource_id}
        for name, value in self.figures.items():
            if isinstance(value, Interval):
                out[name] = {"estimate": round(value.estimate, 6), "low": round(value.low, 6), "high": round(value.high, 6)}
            else:
                out[name] = value
        out["helpful"], out["not_helpful"] = self.counts.helpful, self.counts.not_helpful
        out["dismissals"], out["content_reports"] = self.counts.dismissals, self.counts.content_reports
        out["flags"] = self.flags
        return out


def resource_figures(engine: Engine, tenant: str | None = None, since: date | None = None,
                     until: date | None = None, rule: FlagRule | None = None) -> list[ResourceFigures]:
    """Every resource with outcomes in the window, most impressions first."""
    rule = rule or FlagRule()
    per_resource = OutcomeStore(engine).counts(tenant, since, until)
    out = []
    for rid, raw in per_resource.items():
        counts = OutcomeCounts(**raw)
        out.append(ResourceFigures(rid, counts, effectiveness(counts), flag_reasons(counts, rule)))
    return sorted(out, key=lambda r: (-r.counts.impressions, r.resource_id))


def overall(engine: Engine, tenant: str | None = None, since: date | None = None) -> dict[str, int]:
    return totals(OutcomeStore(engine).counts(tenant, since))
