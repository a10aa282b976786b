"""Schema inference from statistics, in TFX's ``Schema`` format (file I/O: :mod:`kfp_mlops.components.core.schema_io`).

Inference follows TFDV's choices where they are safe, and departs where TFDV
makes a schema that fails on ordinary new data:

* type INT, FLOAT or BYTES from the statistics;
* ``presence.min_fraction`` is the observed fraction minus a slack (default
  0.05), not 1.0: a column with no missing values in training may miss a few
  later without that being an anomaly;
* string columns with at most ``max_domain_size`` distinct values get a
  ``string_domain`` (new values are anomalies);
* numeric ranges are *not* inferred unless asked (``range_margin`` > 0), and
  then they are widened by that share of the observed span on each side;
* a True/False column is ``INT`` with a ``bool_domain``;
* a column of dates or datetimes is ``BYTES`` with a ``time_domain`` holding
  its ``string_format`` (no string domain: every day is a new value);
* every feature gets a ``drift_comparator`` and a ``skew_comparator``:
  Jensen-Shannon divergence for numbers and dates (on the parsed timestamps),
  L-infinity distance for categories.
"""
from __future__ import annotations

import logging
import math

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.schema_io import SERVING, TRAINING, set_comparators
from kfp_mlops.components.core.timestamps import FORMAT_STAT
from kfp_mlops.components.validation.statistics import BOOLEAN_STAT, common_stats, feature_name

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.1
PRESENCE_SLACK = 0.05
MAX_DOMAIN_SIZE = 100

_STATS = statistics_pb2.FeatureNameStatistics


def _custom(stat: statistics_pb2.FeatureNameStatistics, name: str) -> statistics_pb2.CustomStatistic | None:
    return next((c for c in stat.custom_stats if c.name == name), None)






def infer_schema_from_statistics(
    stats: statistics_pb2.DatasetFeatureStatisticsList,
    label: str = "",
    drift_threshold: float = DEFAULT_THRESHOLD,
    skew_threshold: float = DEFAULT_THRESHOLD,
    presence_slack: float = PRESENCE_SLACK,
    max_domain_size: int = MAX_DOMAIN_SIZE,
    range_margin: float = 0.0,
) -> schema_pb2.Schema:
    """Infers a TFX schema from statistics.

    Args:
        stats: Statistics of the training data.
        label: The label column, if any: it must exist, and is marked as absent
            from the SERVING environment.
        drift_threshold: Per-feature drift threshold (0 turns drift checks off).
        skew_threshold: Per-feature skew threshold (0 turns skew checks off).
        presence_slack: How far below the observed fraction of present values
            ``presence.min_fraction`` is set.
        max_domain_size: String columns with at most this many distinct values
            get a closed domain of categories.
        range_margin: 0 infers no numeric range; otherwise the range is the
            observed [min, max] widened by this share of the span on each side.

    Returns:
        The schema.

    Raises:
        InputError: If the statistics describe an empty dataset, or ``label`` is
            not one of the columns.
    """
    dataset = stats.datasets[0]
    if dataset.num_examples == 0:
        raise InputError(
            f"cannot infer a schema from an empty dataset ({dataset.name or 'statistics'} has no rows)"
        )
    names = [feature_name(f) for f in dataset.features]
    if label and label not in names:
        raise InputError(f"label column {label!r} not found; columns are: {', '.join(names)}")
    schema = schema_pb2.Schema()
    schema.default_environment.extend([TRAINING, SERVING])  # always: SERVING then checks every feature but the label
    for stat in dataset.features:
        name = feature_name(stat)
        feature = schema.feature.add(name=name)
        feature.type = {_STATS.INT: schema_pb2.INT, _STATS.FLOAT: schema_pb2.FLOAT}.get(
            stat.type, schema_pb2.BYTES
        )
        feature.value_count.min = feature.value_count.max = 1
        present = common_stats(stat).num_non_missing
        if present == 0:
            logger.info(f"column {name!r} has no values at all")
        fraction = present / dataset.num_examples
        feature.presence.min_fraction = max(0.0, math.floor(round((fraction - presence_slack) * 100, 6)) / 100)
        feature.presence.min_count = 1 if present else 0
        if name == label:
            feature.not_in_environment.append(SERVING)
        time_format = _custom(stat, FORMAT_STAT)
        if feature.type == schema_pb2.INT and _custom(stat, BOOLEAN_STAT):
            feature.bool_domain.SetInParent()
        elif time_format is not None and name != label:
            feature.time_domain.string_format = time_format.str
        elif stat.HasField("string_stats") and 0 < stat.string_stats.unique <= max_domain_size \
                and not any(c.name == "unique_is_lower_bound" for c in stat.custom_stats):
            domain = schema.string_domain.add(name=name)
            domain.value.extend(sorted(b.label for b in stat.string_stats.rank_histogram.buckets))
            feature.domain = name
        if range_margin > 0 and stat.HasField("num_stats") and present:
            low, high = stat.num_stats.min, stat.num_stats.max
            pad = range_margin * max(high - low, abs(high), 1e-12)
            if feature.type == schema_pb2.INT:
                feature.int_domain.min, feature.int_domain.max = math.floor(low - pad), math.ceil(high + pad)
            else:
                feature.float_domain.min, feature.float_domain.max = low - pad, high + pad
        set_comparators(feature, drift_threshold, skew_threshold)
    return schema


