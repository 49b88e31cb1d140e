"""What the numbers of a resource or an experiment arm mean, from counts a rollup keeps.

Pure functions: the counts come from incremental rollups (kept at ingestion), never from
recounting the event table per request. Every rate carries its Wilson interval; a resource
is flagged for clinical review only when the interval's lower bound is above the level
(so a handful of unlucky events never pulls good content), and an experiment's arm stops
when it is significantly worse than control on a harm signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics.stats import Interval, difference, mean_interval, msprt_p_value, sample_ratio_p_value, wilson


@dataclass
class OutcomeCounts:
    """Counts of one resource (or one arm), per tenant or overall, over a window."""

    impressions: int = 0
    clicks: int = 0
    starts: int = 0
    completions: int = 0
    helpful: int = 0
    not_helpful: int = 0
    dismissals: int = 0
    content_reports: int = 0
    distress: int = 0
    mood_n: int = 0
    mood_sum: float = 0.0  # sum of (after - before) check-in changes
    mood_sq: float = 0.0

    def add(self, other: "OutcomeCounts") -> "OutcomeCounts":
        return OutcomeCounts(**{k: getattr(self, k) + getattr(other, k) for k in self.__dataclass_fields__})


def effectiveness(c: OutcomeCounts) -> dict[str, Interval | int]:
    """The figures an editor reads, each rate with its 95% interval.

    Rates are per impression, except completion (per start) and helpful (per helpful or
    not-helpful answer): each over the people who could have done it.
    """
    rated = c.helpful + c.not_helpful
    figures: dict[str, Interval | int] = {
        "impressions": c.impressions, "clicks": c.clicks, "starts": c.starts, "completions": c.completions,
        "click_rate": wilson(min(c.clicks, c.impressions), c.impressions),
        "completion_rate": wilson(min(c.completions, c.starts), c.starts),
        "helpful_rate": wilson(c.helpful, rated),
        "dismiss_rate": wilson(min(c.dismissals, c.impressions), c.impressions),
        "content_report_rate": wilson(min(c.content_reports, c.impressions), c.impressions),
    }
    if c.mood_n:
        figures["mood_change"] = mean_interval(c.mood_sum, c.mood_sq, c.mood_n)
    return figures


@dataclass(frozen=True)
class FlagRule:
    """When a resource goes back to clinical review: a rate whose lower bound is above its
    level, once enough people could have reported it."""

    max_content_report_rate: float = 0.02
    max_not_helpful_share: float = 0.6
    min_impressions: int = 200
    min_ratings: int = 30


def flag_reasons(c: OutcomeCounts, rule: FlagRule) -> list[str]:
    """Why the evidence says a resource needs review (empty: it does not)."""
    reasons: list[str] = []
    if c.impressions >= rule.min_impressions:
        reports = wilson(min(c.content_reports, c.impressions), c.impressions)
        if reports.low > rule.max_content_report_rate:
            reasons.append(f"content reports {reports.estimate:.1%} of {c.impressions} impressions "
                           f"(95% interval from {reports.low:.1%}) above {rule.max_content_report_rate:.1%}")
    rated = c.helpful + c.not_helpful
    if rated >= rule.min_ratings:
        unhelpful = wilson(c.not_helpful, rated)
        if unhelpful.low > rule.max_not_helpful_share:
            reasons.append(f"not helpful for {unhelpful.estimate:.0%} of {rated} ratings "
                           f"(95% interval from {unhelpful.low:.0%}) above {rule.max_not_helpful_share:.0%}")
    return reasons


@dataclass
class ArmComparison:
    metric: str
    control: Interval
    arm: Interval
    difference: Interval
    p_value: float  # always valid: may be read at every look
    significant: bool


def compare(metric: str, control: tuple[int, int], arm: tuple[int, int], alpha: float = 0.05) -> ArmComparison:
    """``control`` and ``arm`` as (successes, trials) of one rate."""
    p = msprt_p_value(control[0], control[1], arm[0], arm[1])
    return ArmComparison(metric, wilson(*control), wilson(*arm), difference(control[0], control[1], arm[0], arm[1]),
                         p, p < alpha)


@dataclass
class ExperimentReading:
    comparisons: dict[str, list[ArmComparison]] = field(default_factory=dict)
    sample_ratio_p: float = 1.0
    sample_ratio_mismatch: bool = False
    stop_arms: list[str] = field(default_factory=list)  # worse than control on a harm signal


HARM_METRICS = ("content_report_rate", "distress_rate")


def read_experiment(
    users: dict[str, int], shares: dict[str, float], counts: dict[str, OutcomeCounts], control: str,
    alpha: float = 0.05, srm_alpha: float = 0.001,
) -> ExperimentReading:
    """Every arm against control on the helpful and harm rates, the sample-ratio check and
    the guardrail: an arm whose content-report or distress rate is significantly above
    control's stops."""
    arms = list(users)
    srm = sample_ratio_p_value([users[a] for a in arms], [shares[a] for a in arms])
    reading = ExperimentReading(sample_ratio_p=srm, sample_ratio_mismatch=srm < srm_alpha)
    base = counts[control]
    for arm in arms:
        if arm == control:
            continue
        c = counts[arm]
        rows = [
            compare("helpful_rate", (base.helpful, base.helpful + base.not_helpful), (c.helpful, c.helpful + c.not_helpful), alpha),
            compare("completion_rate", (min(base.completions, base.starts), base.starts), (min(c.completions, c.starts), c.starts), alpha),
            compare("content_report_rate", (base.content_reports, users[control]), (c.content_reports, users[arm]), alpha),
            compare("distress_rate", (base.distress, users[control]), (c.distress, users[arm]), alpha),
        ]
        reading.comparisons[arm] = rows
        if any(r.metric in HARM_METRICS and r.significant and r.difference.low > 0 for r in rows):
            reading.stop_arms.append(arm)
    return reading
