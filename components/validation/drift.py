"""Distances between two statistics of one feature: Jensen-Shannon and L-infinity.

These are distances with thresholds, as in TFX, not p-value tests: at a million
rows a p-value test flags columns that did not move at all.

* Numbers: Jensen-Shannon divergence (base 2, in [0, 1]) of the two
  distributions over a common set of bins. The bins are equal-mass bins of the
  baseline (from its QUANTILES histogram), with open ends so values outside the
  baseline's range count; each side's mass per bin comes from its own histogram,
  read as a piecewise-linear CDF. The number of bins shrinks for small samples
  (about the square root of the smaller count, 5 to 30), so two samples of the
  same distribution stay near 0.
* Categories: L-infinity distance, the largest absolute difference between the
  two value frequencies (TFDV's ``infinity_norm``).

Small samples: two samples of 50 rows from one distribution differ by chance
(an L-infinity of 0.15 is common). :func:`js_noise_floor` and
:func:`linf_noise_floor` give the distance that chance alone stays below
(mean plus three standard deviations of the distance between two samples of
those sizes); a drift is only flagged above both the schema's threshold and
that floor. At 100k rows and more the floor is far below any usual threshold.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from tensorflow_metadata.proto.v0 import statistics_pb2

from kfp_mlops.components.core.timestamps import DAYS_STAT
from kfp_mlops.components.validation.statistics import SAMPLE_SIZE, common_stats

if TYPE_CHECKING:
    import numpy as np

MIN_BINS, MAX_BINS = 5, 30


def _histogram(feature: statistics_pb2.FeatureNameStatistics) -> statistics_pb2.Histogram | None:
    """The finest histogram of a numeric feature: QUANTILES first, else STANDARD.

    A column of dates has string statistics and a custom histogram of its
    parsed values (days since the epoch), which is used instead.
    """
    if not feature.HasField("num_stats"):
        days = next((c.histogram for c in feature.custom_stats if c.name == DAYS_STAT), None)
        return days if days is not None and days.buckets else None
    histograms = sorted(
        feature.num_stats.histograms,
        key=lambda h: (h.type != statistics_pb2.Histogram.QUANTILES, -len(h.buckets)),
    )
    return histograms[0] if histograms and histograms[0].buckets else None


def _cdf(histogram: statistics_pb2.Histogram, points: np.ndarray) -> np.ndarray:
    """Share of the histogram's mass at or below each point (uniform within a bucket)."""
    import numpy as np
    low = np.array([b.low_value for b in histogram.buckets])
    high = np.array([b.high_value for b in histogram.buckets])
    count = np.array([b.sample_count for b in histogram.buckets])
    total = count.sum()
    if total <= 0:
        return np.zeros_like(points)
    width = high - low
    point_mass = width <= 0
    x = points[:, None]
    partial = np.where(
        point_mass, (x >= low).astype(float), np.clip((x - low) / np.where(point_mass, 1, width), 0, 1)
    )
    return (partial * count).sum(axis=1) / total


def _quantile(histogram: statistics_pb2.Histogram, shares: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_cdf` at the given shares (points where the CDF reaches them)."""
    import numpy as np
    edges = np.unique(np.concatenate([[b.low_value, b.high_value] for b in histogram.buckets]))
    cdf = _cdf(histogram, edges)
    return np.interp(shares, cdf, edges)


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (log base 2, in [0, 1]) of two mass vectors."""
    import numpy as np
    p = p / p.sum() if p.sum() > 0 else p
    q = q / q.sum() if q.sum() > 0 else q
    m = (p + q) / 2

    def _kl(a: np.ndarray) -> float:
        nonzero = a > 0
        return float((a[nonzero] * np.log2(a[nonzero] / m[nonzero])).sum())

    return max(0.0, 0.5 * _kl(p) + 0.5 * _kl(q))


def _bins(n_baseline: int, n_current: int) -> int:
    import numpy as np
    return int(np.clip(np.sqrt(max(min(n_baseline, n_current), 1)), MIN_BINS, MAX_BINS))


def js_noise_floor(n_baseline: int, n_current: int) -> float:
    """Jensen-Shannon divergence that two samples of one distribution stay below (about 3 sigma)."""
    import numpy as np
    n_baseline, n_current = min(n_baseline, SAMPLE_SIZE), min(n_current, SAMPLE_SIZE)
    if not n_baseline or not n_current:
        return 0.0
    dof = _bins(n_baseline, n_current) - 1
    return (dof + 3 * np.sqrt(2 * dof)) / (8 * np.log(2)) * (1 / n_baseline + 1 / n_current)


def linf_noise_floor(frequency: float, n_baseline: int, n_current: int) -> float:
    """Gap in one value's frequency that two samples of one distribution stay below (3 sigma)."""
    import numpy as np
    if not n_baseline or not n_current:
        return 0.0
    return 3 * float(np.sqrt(frequency * (1 - frequency) * (1 / n_baseline + 1 / n_current)))


def numeric_divergence(
    baseline: statistics_pb2.FeatureNameStatistics, current: statistics_pb2.FeatureNameStatistics
) -> float | None:
    """Jensen-Shannon divergence of a numeric feature between two statistics.

    Returns:
        The divergence in [0, 1], or None when either side has no histogram.
    """
    import numpy as np
    base, cur = _histogram(baseline), _histogram(current)
    if base is None or cur is None:
        return None
    bins = _bins(common_stats(baseline).num_non_missing, common_stats(current).num_non_missing)
    inner = np.unique(_quantile(base, np.linspace(0, 1, bins + 1)[1:-1]))  # first and last bins are open
    # open ends: values below or above the baseline's range land in the first or last bin
    p = np.diff(np.concatenate([[0.0], _cdf(base, inner), [1.0]]))
    q = np.diff(np.concatenate([[0.0], _cdf(cur, inner), [1.0]]))
    return js_divergence(np.clip(p, 0, None), np.clip(q, 0, None))


def _frequencies(feature: statistics_pb2.FeatureNameStatistics) -> dict[str, float]:
    strings = feature.string_stats
    if strings.rank_histogram.buckets:
        counts = {b.label: b.sample_count for b in strings.rank_histogram.buckets}
    else:
        counts = {v.value: v.frequency for v in strings.top_values}
    total = strings.common_stats.num_non_missing or sum(counts.values())
    return {value: count / total for value, count in counts.items()} if total else {}


def categorical_distance(
    baseline: statistics_pb2.FeatureNameStatistics, current: statistics_pb2.FeatureNameStatistics
) -> tuple[float, str, float] | None:
    """L-infinity distance of a categorical feature's value frequencies.

    Returns:
        The distance in [0, 1], the value where it is reached and that value's
        pooled frequency, or None when either side has no string statistics.
    """
    if not (baseline.HasField("string_stats") and current.HasField("string_stats")):
        return None
    p, q = _frequencies(baseline), _frequencies(current)
    if not p or not q:
        return None
    gaps = {value: abs(p.get(value, 0.0) - q.get(value, 0.0)) for value in set(p) | set(q)}
    value = max(sorted(gaps), key=lambda v: gaps[v])
    return gaps[value], value, (p.get(value, 0.0) + q.get(value, 0.0)) / 2
