"""The statistics behind outcome figures and experiments, as pure functions over counts.

Rates carry Wilson intervals (honest at small counts and near 0 or 1, where the normal
interval is not). Experiment arms are compared with a mixture sequential probability ratio
test (mSPRT, Johari et al. 2017): its p-value stays valid however often someone looks at the
results, which a fixed-horizon test does not when people check a dashboard every day.
Assignment to arms is a stable hash, so a user keeps their arm across requests and workers
without any stored state.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """The Wilson score interval of a proportion (``n == 0`` gives the whole range)."""
    if n < 0 or successes < 0 or successes > n:
        raise ValueError("need 0 <= successes <= n")
    if n == 0:
        return Interval(0.0, 0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(total: float, total_sq: float, n: int, z: float = Z95) -> Interval:
    """A mean and its normal interval from running sums (what a rollup keeps)."""
    if n == 0:
        return Interval(0.0, float("-inf"), float("inf"))
    mean = total / n
    var = max(total_sq / n - mean * mean, 0.0) * (n / (n - 1) if n > 1 else 1.0)
    half = z * math.sqrt(var / n)
    return Interval(mean, mean - half, mean + half)


def difference(successes_a: int, n_a: int, successes_b: int, n_b: int, z: float = Z95) -> Interval:
    """Newcombe's interval for ``p_b - p_a`` (from the two Wilson intervals)."""
    a, b = wilson(successes_a, n_a, z), wilson(successes_b, n_b, z)
    d = b.estimate - a.estimate
    low = d - math.sqrt((b.estimate - b.low) ** 2 + (a.high - a.estimate) ** 2)
    high = d + math.sqrt((b.high - b.estimate) ** 2 + (a.estimate - a.low) ** 2)
    return Interval(d, low, high)


def msprt_p_value(successes_a: int, n_a: int, successes_b: int, n_b: int, tau: float = 0.05) -> float:
    """Always-valid p-value of "the two rates are equal" (mSPRT with a normal mixture of
    variance ``tau**2`` over the difference, normal approximation of the estimate).

    Valid at every look: the running minimum of these p-values over time may be compared
    with alpha directly.
    """
    if n_a == 0 or n_b == 0:
        return 1.0
    pa, pb = successes_a / n_a, successes_b / n_b
    pooled = (successes_a + successes_b) / (n_a + n_b)
    v = max(pooled * (1 - pooled), 1e-12) * (1 / n_a + 1 / n_b)  # variance of the difference
    d = pb - pa
    t2 = tau * tau
    log_lr = 0.5 * math.log(v / (v + t2)) + (t2 * d * d) / (2 * v * (v + t2))
    return float(min(1.0, math.exp(-log_lr)))


def sample_ratio_p_value(counts: Sequence[int], shares: Sequence[float]) -> float:
    """Chi-square test that users reached the arms in the shares they were given; a small
    p-value (below 0.001, say) means the assignment or the logging is broken."""
    from scipy.stats import chisquare

    total = sum(counts)
    if total == 0:
        return 1.0
    norm = sum(shares)
    expected = [total * s / norm for s in shares]
    return float(chisquare(list(counts), expected).pvalue)


def assign(tenant: str, experiment: str, user: str, arms: Sequence[str], shares: Sequence[float]) -> str:
    """The user's arm: a stable hash of tenant, experiment and user mapped onto the shares."""
    if not arms or len(arms) != len(shares) or any(s < 0 for s in shares) or sum(shares) <= 0:
        raise ValueError("arms and non-negative shares of the same length are needed")
    digest = hashlib.blake2b(f"{tenant}\x1f{experiment}\x1f{user}".encode(), digest_size=8).digest()
    point = int.from_bytes(digest, "big") / 2**64 * sum(shares)
    running = 0.0
    for arm, share in zip(arms, shares):
        running += share
        if point < running:
            return arm
    return arms[-1]
