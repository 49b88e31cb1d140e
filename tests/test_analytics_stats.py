"""The statistics of outcome figures and experiments, against known values and simulation."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from analytics.stats import assign, difference, mean_interval, msprt_p_value, sample_ratio_p_value, wilson


def test_wilson_matches_the_textbook_values() -> None:
    iv = wilson(8, 10)
    assert iv.estimate == 0.8
    assert iv.low == pytest.approx(0.4902, abs=1e-4) and iv.high == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 10).low == 0.0 and wilson(10, 10).high == pytest.approx(1.0)
    from scipy.stats import binomtest

    reference = binomtest(37, 120).proportion_ci(method="wilson")
    assert wilson(37, 120).low == pytest.approx(reference.low) and wilson(37, 120).high == pytest.approx(reference.high)
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_mean_interval_from_running_sums() -> None:
    values = [1, 2, 3, 4, 5]
    iv = mean_interval(sum(values), sum(v * v for v in values), len(values))
    assert iv.estimate == 3 and iv.low < 3 < iv.high


def test_difference_interval_contains_zero_for_equal_rates_and_not_for_distant_ones() -> None:
    same = difference(50, 100, 50, 100)
    assert same.low < 0 < same.high
    apart = difference(100, 1000, 300, 1000)
    assert apart.low > 0.15


def test_msprt_declares_a_real_difference_and_stays_quiet_under_a_a_with_daily_looks() -> None:
    rng = random.Random(7)
    false_alarms = 0
    for _run in range(100):
        sa = na = sb = nb = 0
        declared = False
        for _day in range(20):  # look every "day"
            for _ in range(100):
                na += 1
                sa += rng.random() < 0.3
                nb += 1
                sb += rng.random() < 0.3
            if msprt_p_value(sa, na, sb, nb) < 0.05:
                declared = True
                break
        false_alarms += declared
    assert false_alarms <= 5
    assert msprt_p_value(300, 1000, 400, 1000) < 0.01


def test_assignment_is_stable_and_follows_the_shares() -> None:
    arms, shares = ["control", "treatment"], [0.8, 0.2]
    assert assign("t", "e", "u1", arms, shares) == assign("t", "e", "u1", arms, shares)
    counts = Counter(assign("t", "e", f"user-{n}", arms, shares) for n in range(20_000))
    assert abs(counts["treatment"] / 20_000 - 0.2) < 0.01
    assert sample_ratio_p_value([counts["control"], counts["treatment"]], shares) > 0.001
    assert sample_ratio_p_value([9000, 1000], [0.5, 0.5]) < 1e-6
    other = Counter(assign("t", "e2", f"user-{n}", arms, [0.5, 0.5]) for n in range(2000))
    assert min(other.values()) > 900


def test_effectiveness_rates_have_intervals_and_flags_need_evidence() -> None:
    from analytics.outcomes import FlagRule, OutcomeCounts, effectiveness, flag_reasons

    good = OutcomeCounts(impressions=1000, clicks=200, starts=150, completions=120, helpful=80, not_helpful=20,
                         content_reports=3)
    figures = effectiveness(good)
    assert figures["completion_rate"].estimate == 0.8  # type: ignore[union-attr]  # a rate with counts behind it is an interval
    assert flag_reasons(good, FlagRule()) == []
    harmful = OutcomeCounts(impressions=400, helpful=5, not_helpful=40, content_reports=30)
    reasons = flag_reasons(harmful, FlagRule())
    assert len(reasons) == 2 and "content reports" in reasons[0]
    unlucky = OutcomeCounts(impressions=20, content_reports=3)  # too few to judge
    assert flag_reasons(unlucky, FlagRule()) == []


def test_an_arm_with_more_content_reports_stops_and_a_better_arm_is_declared() -> None:
    from analytics.outcomes import OutcomeCounts, read_experiment

    users = {"control": 5000, "hybrid": 5000, "bad": 5000}
    shares = {"control": 1 / 3, "hybrid": 1 / 3, "bad": 1 / 3}
    counts = {
        "control": OutcomeCounts(helpful=1500, not_helpful=1500, content_reports=20),
        "hybrid": OutcomeCounts(helpful=1900, not_helpful=1100, content_reports=22),
        "bad": OutcomeCounts(helpful=1500, not_helpful=1500, content_reports=120),
    }
    reading = read_experiment(users, shares, counts, "control")
    assert not reading.sample_ratio_mismatch
    helpful = {r.metric: r for r in reading.comparisons["hybrid"]}["helpful_rate"]
    assert helpful.significant and helpful.difference.low > 0
    assert reading.stop_arms == ["bad"]
    skewed = read_experiment({"control": 6000, "hybrid": 4000}, {"control": 0.5, "hybrid": 0.5},
                             {k: counts[k] for k in ("control", "hybrid")}, "control")
    assert skewed.sample_ratio_mismatch
