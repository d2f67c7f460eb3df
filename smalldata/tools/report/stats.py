"""The statistics behind ``smalldata report``, in the standard library only (no SciPy).

- :func:`wilson_interval`: a proportion's 95 % Wilson score interval;
- :func:`two_proportion_p_value`: the pooled two-proportion z-test;
- :func:`mean_interval`: a mean's normal-approximation interval (revenue per visitor);
- :func:`chi_square_sf`: the chi-square survival function, exact for any whole df
  (behind the sample-ratio-mismatch check, :func:`sample_ratio_p_value`);
- :func:`visitors_needed`: the visitors per variant a two-proportion test needs to detect a lift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import NormalDist

__all__ = [
    "ALPHA", "POWER", "SRM_ALPHA", "Z95", "chi_square_sf", "mean_interval", "sample_ratio_p_value",
    "two_proportion_p_value", "visitors_needed", "wilson_interval",
]  # fmt: skip

Z95 = 1.959963984540054
ALPHA = 0.05
POWER = 0.8
#: The experimentation platforms' convention: a split this unlikely under the weights is a broken experiment.
SRM_ALPHA = 0.001


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion; ``(0, 0)`` for no trials."""
    if trials == 0:
        return 0.0, 0.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test; None when it cannot be computed."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0  # both arms all-or-nothing alike: no evidence of a difference
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def mean_interval(total: float, squares: float, n: int, z: float = Z95) -> tuple[float, float, float]:
    """Mean and 95 % interval of ``n`` values given their sum and sum of squares (``(0, 0, 0)`` for none).

    The normal approximation (sound for the hundreds of visitors an experiment needs): revenue per
    visitor is mostly zeros and a few orders, and its mean's spread shrinks with ``sqrt(n)``.
    """
    if n == 0:
        return 0.0, 0.0, 0.0
    mean = total / n
    variance = max(0.0, (squares - n * mean * mean) / (n - 1)) if n > 1 else 0.0
    half = z * math.sqrt(variance / n)
    return mean, mean - half, mean + half


def chi_square_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with ``df`` (a whole number >= 1) degrees of freedom.

    Closed forms of the regularised upper incomplete gamma function Q(df/2, x/2): a finite
    sum for even df, and erfc plus a finite sum for odd df.
    """
    if df < 1:
        raise ValueError("degrees of freedom must be 1 or more")
    if x <= 0:
        return 1.0
    half = x / 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, math.exp(-half) * total)
    total = math.erfc(math.sqrt(half))
    term = math.sqrt(half) / math.gamma(1.5)  # (x/2)^(1/2) / Γ(3/2), then each next term * (x/2) / (i + 1/2)
    for i in range(1, (df + 1) // 2):
        total += math.exp(-half) * term
        term *= half / (i + 0.5)
    return min(1.0, total)


def sample_ratio_p_value(observed: Mapping[str, int], weights: Mapping[str, float]) -> float | None:
    """How likely a split at least this far from ``weights`` is by chance (Pearson's chi-square test).

    ``None`` when there is nothing to test (one arm, no visitors). A variant seen but given no
    weight makes the split impossible: 0.
    """
    total = sum(observed.values())
    arms = {name: weight for name, weight in weights.items() if weight > 0}
    if total == 0 or len(arms) < 2:
        return None
    if any(count and name not in arms for name, count in observed.items()):
        return 0.0
    weight_sum = sum(arms.values())
    statistic = 0.0
    for name, weight in arms.items():
        expected = total * weight / weight_sum
        statistic += (observed.get(name, 0) - expected) ** 2 / expected
    return chi_square_sf(statistic, len(arms) - 1)


def visitors_needed(base_rate: float, lift: float, *, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Visitors per variant for a two-sided two-proportion test to detect a relative ``lift`` of ``base_rate``.

    ``None`` when no lift can be measured (a baseline of 0 or a rate pushed past 1).
    """
    target = base_rate * (1 + lift)
    if base_rate <= 0 or not 0 < target < 1 or lift == 0:
        return None
    normal = NormalDist()
    z_alpha, z_power = normal.inv_cdf(1 - alpha / 2), normal.inv_cdf(power)
    pooled = (base_rate + target) / 2
    spread = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_power * math.sqrt(
        base_rate * (1 - base_rate) + target * (1 - target)
    )
    return math.ceil(spread * spread / (target - base_rate) ** 2)
