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
"""
from __future__ import annotations

import numpy as np
from tensorflow_metadata.proto.v0 import statistics_pb2

from kfp_mlops.components.validation.statistics import common_stats

MIN_BINS, MAX_BINS = 5, 30


def _histogram(feature: statistics_pb2.FeatureNameStatistics) -> statistics_pb2.Histogram | None:
    """The finest histogram of a numeric feature: QUANTILES first, else STANDARD."""
    if not feature.HasField("num_stats"):
        return None
    histograms = sorted(
        feature.num_stats.histograms,
        key=lambda h: (h.type != statistics_pb2.Histogram.QUANTILES, -len(h.buckets)),
    )
    return histograms[0] if histograms and histograms[0].buckets else None


def _cdf(histogram: statistics_pb2.Histogram, points: np.ndarray) -> np.ndarray:
    """Share of the histogram's mass at or below each point (uniform within a bucket)."""
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
    edges = np.unique(np.concatenate([[b.low_value, b.high_value] for b in histogram.buckets]))
    cdf = _cdf(histogram, edges)
    return np.interp(shares, cdf, edges)


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (log base 2, in [0, 1]) of two mass vectors."""
    p = p / p.sum() if p.sum() > 0 else p
    q = q / q.sum() if q.sum() > 0 else q
    m = (p + q) / 2

    def _kl(a: np.ndarray) -> float:
        nonzero = a > 0
        return float((a[nonzero] * np.log2(a[nonzero] / m[nonzero])).sum())

    return max(0.0, 0.5 * _kl(p) + 0.5 * _kl(q))


def numeric_divergence(
    baseline: statistics_pb2.FeatureNameStatistics, current: statistics_pb2.FeatureNameStatistics
) -> float | None:
    """Jensen-Shannon divergence of a numeric feature between two statistics.

    Returns:
        The divergence in [0, 1], or None when either side has no histogram.
    """
    base, cur = _histogram(baseline), _histogram(current)
    if base is None or cur is None:
        return None
    smaller = min(common_stats(baseline).num_non_missing, common_stats(current).num_non_missing)
    bins = int(np.clip(np.sqrt(max(smaller, 1)), MIN_BINS, MAX_BINS))
    inner = np.unique(_quantile(base, np.linspace(0, 1, bins + 1)))
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
) -> tuple[float, str] | None:
    """L-infinity distance of a categorical feature's value frequencies.

    Returns:
        The distance in [0, 1] and the value where it is reached, or None when
        either side has no string statistics.
    """
    if not (baseline.HasField("string_stats") and current.HasField("string_stats")):
        return None
    p, q = _frequencies(baseline), _frequencies(current)
    if not p or not q:
        return None
    gaps = {value: abs(p.get(value, 0.0) - q.get(value, 0.0)) for value in set(p) | set(q)}
    value = max(sorted(gaps), key=gaps.get)
    return gaps[value], value
