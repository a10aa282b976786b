"""Statistics of a Parquet table (a file, a folder of shards, a ``gs://``/``s3://`` URI) on the embedded engine.

The same ``DatasetFeatureStatisticsList`` layout as :mod:`.statistics`, computed by
DuckDB queries (:mod:`kfp_mlops.components.data.queries`) that stream the table:

* numbers: exact counts, missing, zeros, min, max, mean and standard deviation over
  all rows; the STANDARD histogram from exact equal-width bucket counts; the median
  and the QUANTILES histogram from all rows: exact (``quantile_cont``) up to
  :data:`EXACT_QUANTILE_CELLS` numeric cells, else DuckDB's T-Digest sketch
  (``approx_quantile``), named in the ``quantiles`` custom statistic;
* strings: exact counts, distinct values and lengths; value counts of the
  :data:`.statistics.MAX_TRACKED_VALUES` most frequent values.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
from tensorflow_metadata.proto.v0 import statistics_pb2

from kfp_mlops.components.data import queries as Q
from kfp_mlops.components.data.engine import DuckDBEngine
from kfp_mlops.components.data.sources import Source, resolve
from kfp_mlops.components.validation.statistics import (
    BOOLEAN_STAT,
    MAX_TRACKED_VALUES,
    QUANTILE_BUCKETS,
    FeatureType,
    _common,
    _string_feature,
    _Strings,
)

EXACT_QUANTILE_CELLS = 50_000_000  # rows x numeric columns held for exact quantiles (about 400 MB)
QUANTILES_STAT = "quantiles"  # custom statistic: "exact" or "t-digest"
_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


def _numeric(feature, values: list, counts: list[int] | None, rows: int, kind: str, method: str) -> None:
    present, finite, zeros, low, high, mean, std, integral, cuts = values
    floating = not kind.startswith(_INTEGER) and kind != "BOOLEAN"
    whole = bool(integral) and finite == present and present > 0
    feature.type = FeatureType.FLOAT if floating and not whole else FeatureType.INT
    num = feature.num_stats
    _common(num.common_stats, present, rows - present)
    if not finite:
        return
    num.mean, num.std_dev, num.min, num.max, num.num_zeros = mean, std or 0.0, low, high, zeros
    cuts = np.asarray(cuts, dtype=np.float64)
    num.median = float(cuts[len(cuts) // 2])
    standard = num.histograms.add(type=statistics_pb2.Histogram.STANDARD)
    if high > low:
        edges = np.linspace(low, high, Q.STANDARD_BUCKETS + 1)
        for start, end, count in zip(edges[:-1], edges[1:], counts):
            standard.buckets.add(low_value=start, high_value=end, sample_count=float(count))
    else:
        standard.buckets.add(low_value=low, high_value=high, sample_count=float(finite))
    quantiles = num.histograms.add(type=statistics_pb2.Histogram.QUANTILES)
    cuts[0], cuts[-1] = low, high
    for start, end in zip(cuts[:-1], cuts[1:]):
        quantiles.buckets.add(low_value=start, high_value=end, sample_count=finite / QUANTILE_BUCKETS)
    feature.custom_stats.add(name=QUANTILES_STAT, str=method)


def _strings(engine: DuckDBEngine, table: str, name: str, values: list, max_tracked: int) -> _Strings:
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
                     exact_quantile_cells: int = EXACT_QUANTILE_CELLS) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Computes TFDV-compatible statistics of a table on the embedded engine, in bounded memory.

    Args:
        path: A Parquet or CSV source (see :mod:`kfp_mlops.components.data.sources`).
        max_tracked_values: Distinct values counted per string column.
        exact_quantile_cells: Above this many numeric cells, quantiles come from T-Digest.

    Returns:
        A ``DatasetFeatureStatisticsList`` with one dataset.

    Raises:
        InputError: If the source cannot be read.
    """
    source = path if isinstance(path, Source) else resolve(path)
    with DuckDBEngine() as engine:
        columns = engine.columns(engine.scan(source))
        numeric = [c for c in columns if c.numeric]
        projection = ", ".join(Q.quote(c.name) if c.numeric or c.type.startswith("VARCHAR")
                               else f"CAST({Q.quote(c.name)} AS VARCHAR) AS {Q.quote(c.name)}" for c in columns)
        engine.con.execute(f"CREATE TEMP VIEW source_rows AS SELECT {projection} FROM {engine.scan(source)}")
        table = "source_rows"
        rows = engine.query(f"SELECT COUNT(*) FROM {table}")[0][0]
        exact = rows * max(len(numeric), 1) <= exact_quantile_cells
        method = "exact" if exact else "t-digest"
        profile = engine.query(Q.numeric_profile_sql(table, [c.name for c in numeric], exact))[0] if numeric else []
        per_column = {c.name: list(profile[1 + 9 * i: 10 + 9 * i]) for i, c in enumerate(numeric)}
        edges = {name: (v[3], v[4]) for name, v in per_column.items() if v[1] and v[4] > v[3]}
        counts = engine.query(Q.histogram_sql(table, edges))[0] if edges else []
        histograms = {name: list(counts[i * Q.STANDARD_BUCKETS:(i + 1) * Q.STANDARD_BUCKETS])
                      for i, name in enumerate(edges)}
        strings = [c for c in columns if not c.numeric]
        text = engine.query(Q.string_profile_sql(table, [c.name for c in strings]))[0] if strings else []
        result = statistics_pb2.DatasetFeatureStatisticsList()
        dataset = result.datasets.add(name=source.name, num_examples=int(rows))
        string_values = {c.name: list(text[1 + 3 * i: 4 + 3 * i]) for i, c in enumerate(strings)}
        for column in columns:
            feature = dataset.features.add()
            feature.path.step.append(column.name)
            if column.numeric:
                _numeric(feature, per_column[column.name], histograms.get(column.name), int(rows), column.type, method)
                if column.type == "BOOLEAN":
                    feature.custom_stats.add(name=BOOLEAN_STAT, num=1.0)
            else:
                feature.type = FeatureType.STRING
                acc = _strings(engine, table, column.name, string_values[column.name], max_tracked_values)
                acc.missing = int(rows) - acc.count
                _string_feature(feature, acc)
                feature.string_stats.unique = acc.distinct  # exact, even when the value counts were cut
                kept = [s for s in feature.custom_stats if s.name != "unique_is_lower_bound"]
                del feature.custom_stats[:]
                feature.custom_stats.extend(kept)
    return result
