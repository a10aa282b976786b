"""Statistics of a Parquet table (a file, a folder of shards, a ``gs://``/``s3://`` URI) on the embedded engine.

The same ``DatasetFeatureStatisticsList`` layout as :mod:`.statistics`, computed by
DuckDB queries (:mod:`kfp_mlops.components.core.queries`) that stream the table:

* numbers: exact counts, missing, zeros, min, max, mean and standard deviation over
  all rows. The median and the histograms come from all rows too: up to
  :data:`EXACT_QUANTILE_ROWS` rows, exactly, from each column sorted on its own (one
  column in memory at a time); above that, the QUANTILES histogram and the median
  come from DuckDB's T-Digest sketch (``approx_quantile``) and the STANDARD histogram
  from exact equal-width bucket counts. The ``quantiles`` custom statistic says which;
* strings: exact counts, distinct values and lengths; value counts of the
  :data:`.statistics.MAX_TRACKED_VALUES` most frequent values.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tensorflow_metadata.proto.v0 import statistics_pb2

from kfp_mlops.components.core import queries as Q
from kfp_mlops.components.core.engine import DuckDBEngine
from kfp_mlops.components.core.sources import Source, resolve
from kfp_mlops.components.validation.statistics import (
    BOOLEAN_STAT,
    MAX_TRACKED_VALUES,
    QUANTILE_BUCKETS,
    FeatureType,
    _common,
    _histograms,
    _quantiles,
    _string_feature,
    _Strings,
)

if TYPE_CHECKING:
    import numpy as np

EXACT_QUANTILE_ROWS = 20_000_000  # one sorted column of this many doubles: 160 MB
QUANTILES_STAT = "quantiles"  # custom statistic: "exact" or "t-digest"
_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
_PER_COLUMN = 8  # aggregates per column in the numeric profile, before the quantiles


def _numeric(feature, values: list, rows: int, kind: str, ordered: np.ndarray | None,
             cuts: list | None, counts: list | None) -> None:
    import numpy as np
    present, finite, zeros, low, high, mean, std, integral = values
    floating = not kind.startswith(_INTEGER) and kind != "BOOLEAN"
    whole = bool(integral) and finite == present and present > 0
    feature.type = FeatureType.FLOAT if floating and not whole else FeatureType.INT
    num = feature.num_stats
    _common(num.common_stats, present, rows - present)
    if not finite:
        return
    num.mean, num.std_dev, num.min, num.max, num.num_zeros = mean, std or 0.0, low, high, zeros
    if ordered is not None:  # exact: TFDV's two histograms from every finite value, sorted
        num.median = float(_quantiles(ordered, np.array([0.5]))[0])
        _histograms(num, ordered, ordered.size)
        feature.custom_stats.add(name=QUANTILES_STAT, str="exact")
        return
    if cuts is None or counts is None:  # not reached: callers pass either the sorted values or both of these
        raise ValueError("numeric statistics need the sorted values, or the quantile cuts and histogram counts")
    quantile_cuts = np.asarray(cuts, dtype=np.float64)
    num.median = float(quantile_cuts[len(quantile_cuts) // 2])
    standard = num.histograms.add(type=statistics_pb2.Histogram.STANDARD)
    if high > low:
        edges = np.linspace(low, high, Q.STANDARD_BUCKETS + 1)
        for start, end, count in zip(edges[:-1], edges[1:], counts, strict=True):
            standard.buckets.add(low_value=start, high_value=end, sample_count=float(count))
    else:
        standard.buckets.add(low_value=low, high_value=high, sample_count=float(finite))
    quantiles = num.histograms.add(type=statistics_pb2.Histogram.QUANTILES)
    quantile_cuts[0], quantile_cuts[-1] = low, high
    for start, end in zip(quantile_cuts[:-1], quantile_cuts[1:], strict=True):
        quantiles.buckets.add(low_value=start, high_value=end, sample_count=finite / QUANTILE_BUCKETS)
    feature.custom_stats.add(name=QUANTILES_STAT, str="t-digest")


def _sorted_column(engine: DuckDBEngine, table: str, name: str) -> np.ndarray:
    """Every finite value of one numeric column, sorted (the only column in memory)."""
    import numpy as np
    value = f"CAST({Q.quote(name)} AS DOUBLE)"
    column = engine.arrow(f"SELECT {value} FROM {table} WHERE isfinite({value})").column(0)
    return np.sort(np.asarray(column.to_numpy(), dtype=np.float64))


def _strings(engine: DuckDBEngine, table: str, name: str, values: list, max_tracked: int) -> _Strings:
    import numpy as np
    import pandas as pd
    present, distinct, length = values
    acc = _Strings(max_tracked)
    acc.count, acc.length = int(present), int(length or 0)
    counted = engine.query(Q.value_counts_sql(table, name, max_tracked + 1)) if present else []
    acc.pruned = len(counted) > max_tracked
    counted = counted[:max_tracked]
    acc.counts = pd.Series([c for _, c in counted], index=[v for v, _ in counted], dtype=np.int64)
    acc.distinct = int(distinct)
    return acc


def table_statistics(path: str | os.PathLike | Source, max_tracked_values: int = MAX_TRACKED_VALUES,
                     exact_quantile_rows: int = EXACT_QUANTILE_ROWS) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Computes TFDV-compatible statistics of a table on the embedded engine, in bounded memory.

    Args:
        path: A Parquet or CSV source (see :mod:`kfp_mlops.components.core.sources`).
        max_tracked_values: Distinct values counted per string column.
        exact_quantile_rows: Above this many rows, quantiles come from T-Digest.

    Returns:
        A ``DatasetFeatureStatisticsList`` with one dataset.

    Raises:
        InputError: If the source cannot be read.
    """
    source = path if isinstance(path, Source) else resolve(path)
    with DuckDBEngine() as engine:
        columns = engine.columns(engine.scan(source))
        numeric = [c for c in columns if c.numeric]
        strings = [c for c in columns if not c.numeric]
        projection = ", ".join(Q.quote(c.name) if c.numeric or c.type.startswith("VARCHAR")
                               else f"CAST({Q.quote(c.name)} AS VARCHAR) AS {Q.quote(c.name)}" for c in columns)
        kind = "TABLE" if source.kind == "csv" else "VIEW"  # a CSV is parsed once, then read column by column
        engine.con.execute(f"CREATE TEMP {kind} source_rows AS SELECT {projection} FROM {engine.scan(source)}")
        table = "source_rows"
        rows = int(engine.query(f"SELECT COUNT(*) FROM {table}")[0][0])
        exact = rows <= exact_quantile_rows
        width = _PER_COLUMN + (0 if exact else 1)
        profile = engine.query(Q.numeric_profile_sql(table, [c.name for c in numeric], "" if exact else
                                                     "approx_quantile"))[0] if numeric else []
        per_column = {c.name: list(profile[1 + width * i: 1 + width * (i + 1)]) for i, c in enumerate(numeric)}
        counts = {}
        if not exact:
            edges = {name: (v[3], v[4]) for name, v in per_column.items() if v[1] and v[4] > v[3]}
            answer = engine.query(Q.histogram_sql(table, edges))[0] if edges else []
            counts = {name: list(answer[i * Q.STANDARD_BUCKETS:(i + 1) * Q.STANDARD_BUCKETS])
                      for i, name in enumerate(edges)}
        text = engine.query(Q.string_profile_sql(table, [c.name for c in strings]))[0] if strings else []
        string_values = {c.name: list(text[1 + 3 * i: 4 + 3 * i]) for i, c in enumerate(strings)}
        result = statistics_pb2.DatasetFeatureStatisticsList()
        dataset = result.datasets.add(name=source.name, num_examples=rows)
        for column in columns:
            feature = dataset.features.add()
            feature.path.step.append(column.name)
            if column.numeric:
                values = per_column[column.name]
                ordered = _sorted_column(engine, table, column.name) if exact and values[1] else None
                _numeric(feature, values[:_PER_COLUMN], rows, column.type, ordered,
                         None if exact else values[_PER_COLUMN], counts.get(column.name))
                if column.type == "BOOLEAN":
                    feature.custom_stats.add(name=BOOLEAN_STAT, num=1.0)
            else:
                feature.type = FeatureType.STRING
                acc = _strings(engine, table, column.name, string_values[column.name], max_tracked_values)
                acc.missing = rows - acc.count
                _string_feature(feature, acc)
                feature.string_stats.unique = acc.distinct  # exact, even when the value counts were cut
                kept = [s for s in feature.custom_stats if s.name != "unique_is_lower_bound"]
                del feature.custom_stats[:]
                feature.custom_stats.extend(kept)
    return result
