"""The checks of statistics against a schema, and of drift and skew against other statistics.

Detected, each as a TFX ``AnomalyInfo.Type``:

| anomaly | type |
|---|---|
| empty dataset | DATASET_LOW_NUM_EXAMPLES |
| missing column | SCHEMA_MISSING_COLUMN |
| unexpected column | SCHEMA_NEW_COLUMN |
| column with no values at all | FEATURE_TYPE_NO_VALUES |
| more missing values than the schema allows | FEATURE_TYPE_LOW_FRACTION_PRESENT |
| type mismatch | INT_TYPE_NOT_INT_STRING, FLOAT_TYPE_STRING_NOT_FLOAT |
| type mismatch | STRING_TYPE_NOW_INT/FLOAT, UNEXPECTED_DATA_TYPE |
| new category values | ENUM_TYPE_UNEXPECTED_STRING_VALUES |
| out-of-range values | INT_TYPE_SMALL_INT/BIG_INT, FLOAT_TYPE_SMALL_FLOAT/BIG_FLOAT |
| drift, skew | COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH, COMPARATOR_L_INFTY_HIGH |
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from kfp_mlops.components.core.anomalies import DATASET, Kind, add_anomaly, add_measurement, new_anomalies
from kfp_mlops.components.core.schema_io import string_domain
from kfp_mlops.components.core.timestamps import DAYS_STAT
from kfp_mlops.components.validation import drift
from kfp_mlops.components.validation.statistics import common_stats, feature_name

logger = logging.getLogger(__name__)

_STATS = statistics_pb2.FeatureNameStatistics
_MEASURE = anomalies_pb2.DriftSkewInfo.Measurement


@dataclass
class CheckResult:
    """Anomalies plus the drift and skew distances measured per column."""

    anomalies: anomalies_pb2.Anomalies
    drift: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    skew: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    within_noise: dict[str, float] = field(default_factory=dict)  # over threshold, under the small-sample floor


def _in_environment(schema: schema_pb2.Schema, feature: schema_pb2.Feature, environment: str) -> bool:
    """TFDV's rule: ``in_environment`` puts a feature in, ``not_in_environment`` takes it out, and
    otherwise a schema with no ``default_environment`` has every feature in every environment."""
    if not environment:
        return True
    if environment in feature.in_environment:
        return True
    if environment in feature.not_in_environment:
        return False
    return not schema.default_environment or environment in schema.default_environment


def _check_type(anomalies, name: str, feature: schema_pb2.Feature, stat, domain: list[str] | None) -> bool:
    """Adds a type anomaly; returns True when the types are compatible."""
    got = _STATS.Type.Name(stat.type)
    want = schema_pb2.FeatureType.Name(feature.type)
    if feature.type == schema_pb2.INT and stat.type == _STATS.INT:
        return True
    if feature.type == schema_pb2.FLOAT and stat.type in (_STATS.INT, _STATS.FLOAT):
        return True
    if feature.type == schema_pb2.BYTES and (stat.type in (_STATS.STRING, _STATS.BYTES) or domain is None):
        return True  # numbers are valid bytes unless the column has a closed set of categories
    kind = {
        (schema_pb2.INT, _STATS.STRING): Kind.INT_TYPE_NOT_INT_STRING,
        (schema_pb2.FLOAT, _STATS.STRING): Kind.FLOAT_TYPE_STRING_NOT_FLOAT,
        (schema_pb2.BYTES, _STATS.INT): Kind.STRING_TYPE_NOW_INT,
        (schema_pb2.BYTES, _STATS.FLOAT): Kind.STRING_TYPE_NOW_FLOAT,
    }.get((feature.type, stat.type), Kind.UNEXPECTED_DATA_TYPE)
    add_anomaly(anomalies, name, kind, f"type mismatch ({got}, schema says {want})",
                f"Column {name!r} holds {got} values, but the schema declares {want}.")
    return False


def _check_values(anomalies, name: str, feature: schema_pb2.Feature, stat, domain: list[str] | None) -> None:
    """New categories, out-of-range numbers, and dates that are not dates."""
    if feature.time_domain.string_format and stat.HasField("string_stats") \
            and not any(c.name in (DAYS_STAT, "unique_is_lower_bound") for c in stat.custom_stats):
        time_format = feature.time_domain.string_format
        add_anomaly(anomalies, name, Kind.UNEXPECTED_DATA_TYPE, f"not all dates in format {time_format!r}",
                    f"Column {name!r} holds values that are not dates in the schema's format {time_format!r}.")
    if domain is not None and stat.HasField("string_stats"):
        buckets = stat.string_stats.rank_histogram.buckets
        counts = {b.label: b.sample_count for b in buckets} or {
            v.value: v.frequency for v in stat.string_stats.top_values}
        allowed = set(domain)
        new = sorted(value for value in counts if value not in allowed)
        present = stat.string_stats.common_stats.num_non_missing or 1
        new_mass = sum(counts[value] for value in new) / present
        min_mass = feature.distribution_constraints.min_domain_mass \
            if feature.HasField("distribution_constraints") else 1.0
        if new and 1.0 - new_mass < min_mass:
            shown = ", ".join(repr(v) for v in new[:5]) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
            add_anomaly(anomalies, name, Kind.ENUM_TYPE_UNEXPECTED_STRING_VALUES,
                        f"new values {shown} ({new_mass:.1%} of rows)",
                        f"Column {name!r} has values outside the schema's domain: {shown}.")
    if not stat.HasField("num_stats"):
        return
    low, high = stat.num_stats.min, stat.num_stats.max
    bounds = None
    if feature.HasField("int_domain"):
        d = feature.int_domain
        bounds = (d.min if d.HasField("min") else None, d.max if d.HasField("max") else None,
                  Kind.INT_TYPE_SMALL_INT, Kind.INT_TYPE_BIG_INT)
    elif feature.HasField("float_domain"):
        d = feature.float_domain
        bounds = (d.min if d.HasField("min") else None, d.max if d.HasField("max") else None,
                  Kind.FLOAT_TYPE_SMALL_FLOAT, Kind.FLOAT_TYPE_BIG_FLOAT)
    if bounds is None:
        return
    minimum, maximum, small, big = bounds
    if minimum is not None and low < minimum:
        add_anomaly(anomalies, name, small, f"out of range (min {low:.6g} < {minimum:.6g})",
                    f"Column {name!r} has values down to {low:.6g}, below the schema's minimum {minimum:.6g}.")
    if maximum is not None and high > maximum:
        add_anomaly(anomalies, name, big, f"out of range (max {high:.6g} > {maximum:.6g})",
                    f"Column {name!r} has values up to {high:.6g}, above the schema's maximum {maximum:.6g}.")


def _compare(result: CheckResult, name: str, comparator: schema_pb2.FeatureComparator,
             other, stat, skew: bool) -> None:
    """Measures drift (or skew) of one column against the other statistics."""
    what, store = ("skew", result.skew) if skew else ("drift", result.drift)
    if other is None:
        return
    sizes = (common_stats(other).num_non_missing, common_stats(stat).num_non_missing)
    checks = []
    if comparator.HasField("jensen_shannon_divergence"):
        value = drift.numeric_divergence(other, stat)
        checks.append(("jensen_shannon", value, comparator.jensen_shannon_divergence.threshold,
                       drift.js_noise_floor(*sizes), _MEASURE.JENSEN_SHANNON_DIVERGENCE,
                       Kind.COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH, ""))
    if comparator.HasField("infinity_norm"):
        found = drift.categorical_distance(other, stat)
        value, at, frequency = found if found else (None, "", 0.0)
        checks.append(("l_infinity", value, comparator.infinity_norm.threshold,
                       drift.linf_noise_floor(frequency, *sizes), _MEASURE.L_INFTY,
                       Kind.COMPARATOR_L_INFTY_HIGH, f" at {at!r}" if at else ""))
    for measure, value, threshold, floor, measure_type, kind, where in checks:
        if value is None:
            continue
        store[name] = (measure, value, threshold)
        add_measurement(result.anomalies, name, skew, measure_type, value, threshold)
        if value > threshold and value <= floor:
            result.within_noise[f"{name} {what}"] = floor
            logger.info(f"{name}: {what} {measure} {value:.3g} > {threshold:g} is within the "
                  f"noise of {sizes[0]} vs {sizes[1]} rows (floor {floor:.3g}); not flagged")
        elif value > threshold:
            add_anomaly(result.anomalies, name, kind, f"{what} ({measure} {value:.3g} > {threshold:g}{where})",
                        f"Column {name!r} {'differs from the training data' if skew else 'drifted from the baseline'}: "
                        f"{measure} distance {value:.4f} is above the threshold {threshold:g}{where}.")


def check_statistics(
    stats: statistics_pb2.DatasetFeatureStatisticsList,
    schema: schema_pb2.Schema,
    baseline: statistics_pb2.DatasetFeatureStatisticsList | None = None,
    training: statistics_pb2.DatasetFeatureStatisticsList | None = None,
    environment: str = "",
) -> CheckResult:
    """Checks statistics against a schema, and for drift and skew.

    Args:
        stats: Statistics of the data to check.
        schema: The schema (types, presence, domains, ranges, comparators).
        baseline: Statistics of an earlier span, for drift (``drift_comparator``).
        training: Statistics of the training data, for skew (``skew_comparator``).
        environment: ``TRAINING`` or ``SERVING`` to apply the schema's
            environments (the label is not expected when serving); empty checks
            every feature.

    Returns:
        The anomalies and the distances measured.
    """
    result = CheckResult(new_anomalies(schema))
    dataset = stats.datasets[0]
    rows = dataset.num_examples
    by_name = {feature_name(f): f for f in dataset.features}
    others = [
        {feature_name(f): f for f in other.datasets[0].features} if other is not None else None
        for other in (baseline, training)
    ]
    if rows == 0 or rows < schema.dataset_constraints.min_examples_count:
        add_anomaly(result.anomalies, DATASET, Kind.DATASET_LOW_NUM_EXAMPLES,
                    f"empty dataset ({rows} rows)" if rows == 0 else f"too few rows ({rows})",
                    f"The dataset {dataset.name!r} has {rows} rows.")
    for feature in schema.feature:
        name = feature.name
        if not _in_environment(schema, feature, environment):
            continue
        stat = by_name.get(name)
        if stat is None:
            add_anomaly(result.anomalies, name, Kind.SCHEMA_MISSING_COLUMN, "missing column",
                        f"Column {name!r} is in the schema but not in the data.")
            continue
        if rows == 0:
            continue
        present = common_stats(stat).num_non_missing
        if present == 0:
            add_anomaly(result.anomalies, name, Kind.FEATURE_TYPE_NO_VALUES, "no values (every row is empty or NaN)",
                        f"Column {name!r} has no values at all: every one of the {rows} rows is empty or NaN.")
            continue
        allowed = 1.0 - feature.presence.min_fraction
        missing = 1.0 - present / rows
        if missing > allowed + 1e-12:
            add_anomaly(result.anomalies, name, Kind.FEATURE_TYPE_LOW_FRACTION_PRESENT,
                        f"missing values {missing:.1%} > {allowed:.1%} allowed",
                        f"Column {name!r} is empty or NaN in {missing:.1%} of rows; the schema allows {allowed:.1%}.")
        domain = string_domain(schema, feature)
        if _check_type(result.anomalies, name, feature, stat, domain):
            _check_values(result.anomalies, name, feature, stat, domain)
        for other, comparator, skew in ((others[0], feature.drift_comparator, False),
                                        (others[1], feature.skew_comparator, True)):
            _compare(result, name, comparator, None if other is None else other.get(name), stat, skew)
    known = {f.name for f in schema.feature}
    for name in by_name:
        if name not in known:
            add_anomaly(result.anomalies, name, Kind.SCHEMA_NEW_COLUMN, "unexpected column (not in the schema)",
                        f"Column {name!r} is in the data but not in the schema.")
    return result
