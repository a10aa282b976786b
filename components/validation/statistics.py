"""Dataset statistics in TFX's format, computed by a chunked columnar engine.

The CSV is read in blocks of rows (:mod:`.reader`); each column feeds one
accumulator, so memory stays bounded by the block size plus a fixed-size sample:

* numbers: exact counts, missing, zeros, min, max, mean and standard deviation
  (merged per block, Chan et al.), plus a uniform row sample of at most
  ``sample_size`` values for the median and the histograms;
* strings: exact value counts (pruned to the most frequent when a column holds
  more than ``max_tracked_values`` distinct values) and lengths.

The result is a ``tensorflow_metadata`` ``DatasetFeatureStatisticsList`` laid
out as TFDV writes it (``num_stats``/``string_stats``, a STANDARD and a
QUANTILES histogram, ``top_values`` and ``rank_histogram``), so TFDV and Facets
read it, and two of them can be compared for drift.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tensorflow_metadata.proto.v0 import statistics_pb2

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.validation.reader import BLOCK_SIZE, CsvBatches

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

logger = logging.getLogger(__name__)

SAMPLE_SIZE = 100_000
PROGRESS_SECONDS = 10.0  # a progress line per this much reading
MAX_TRACKED_VALUES = 100_000
TOP_VALUES = 20
RANK_BUCKETS = 1000
STANDARD_BUCKETS = 10
QUANTILE_BUCKETS = 100
BOOLEAN_STAT = "is_boolean"  # custom statistic on a True/False column (counted as INT 0/1)

FeatureType = statistics_pb2.FeatureNameStatistics


class _Numeric:
    """Exact moments and extremes of one numeric column, merged batch by batch."""

    def __init__(self) -> None:
        import numpy as np
        self.count = self.present = self.missing = self.zeros = 0  # count: finite values
        self.mean = self.m2 = 0.0
        self.min, self.max = np.inf, -np.inf
        self.integral = True  # "181.0" (pandas writes ints with NaN so) still counts as INT
        self.sample: list[np.ndarray] = []

    def add(self, column: pa.Array | pa.ChunkedArray) -> np.ndarray:
        import numpy as np
        values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
        self.missing += column.null_count
        self.present += len(column) - column.null_count
        mask = np.isfinite(values)
        finite = values if mask.all() else values[mask]
        n = finite.size
        if n < len(column) - column.null_count:
            self.integral = False  # inf is a float
        if n:
            mean = float(finite.mean())
            m2 = float(np.square(finite - mean).sum())
            total = self.count + n
            delta = mean - self.mean
            self.mean += delta * n / total
            self.m2 += m2 + delta * delta * self.count * n / total
            self.count = total
            self.min = min(self.min, float(finite.min()))
            self.max = max(self.max, float(finite.max()))
            self.zeros += int(np.count_nonzero(finite == 0))
            if self.integral:
                self.integral = bool(np.array_equal(finite, np.trunc(finite)))
        return values


class _Strings:
    """Exact value counts (bounded) and lengths of one string column."""

    def __init__(self, max_tracked: int) -> None:
        import numpy as np
        import pandas as pd
        self.counts = pd.Series(dtype=np.int64)
        self.count = self.missing = self.length = 0
        self.max_tracked = max_tracked
        self.pruned = False
        self.distinct: int | None = None  # the exact distinct count, where a table query gave it

    def add(self, column: pa.Array | pa.ChunkedArray) -> None:
        import numpy as np
        import pandas as pd
        import pyarrow.compute as pc
        self.missing += column.null_count
        valid = len(column) - column.null_count
        if not valid:
            return
        self.count += valid
        self.length += int(pc.sum(pc.utf8_length(column)).as_py() or 0)
        counted = pc.value_counts(column)
        batch = pd.Series(counted.field("counts").to_numpy(), index=counted.field("values").to_pylist())
        if column.null_count:
            batch = batch[batch.index.notna()]
        self.counts = batch if self.counts.empty else self.counts.add(batch, fill_value=0).astype(np.int64)
        if len(self.counts) > self.max_tracked:
            self.counts = self.counts.nlargest(self.max_tracked // 2)
            self.pruned = True


class _RowSample:
    """A uniform sample of rows (bottom-k of random keys), shared by all numeric columns."""

    def __init__(self, size: int, seed: int = 0) -> None:
        import numpy as np
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.keys = np.empty(0)
        self.values: dict[str, np.ndarray] = {}
        self.threshold = 1.0

    def add(self, columns: dict[str, np.ndarray], rows: int) -> None:
        import numpy as np
        keys = self.rng.random(rows)
        chosen = np.flatnonzero(keys < self.threshold)
        self.keys = np.concatenate([self.keys, keys[chosen]])
        for name, values in columns.items():
            self.values[name] = np.concatenate([self.values.get(name, np.empty(0)), values[chosen]])
        if self.keys.size > 2 * self.size:
            self.prune()

    def prune(self) -> None:
        """Keeps the ``size`` rows with the smallest keys: a uniform sample of all rows seen."""
        import numpy as np
        if self.keys.size <= self.size:
            return
        keep = np.argpartition(self.keys, self.size)[: self.size]
        self.keys = self.keys[keep]
        self.values = {name: values[keep] for name, values in self.values.items()}
        self.threshold = float(self.keys.max())


def _quantiles(ordered: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Linear-interpolated quantiles of an already sorted array (no re-sorting)."""
    import numpy as np
    positions = shares * (ordered.size - 1)
    return np.interp(positions, np.arange(ordered.size), ordered)


def _histograms(stats: statistics_pb2.NumericStatistics, ordered: np.ndarray, total: int) -> None:
    """Adds TFDV's STANDARD (equal width) and QUANTILES (equal mass) histograms from a sorted sample."""
    import numpy as np
    scale = total / ordered.size
    standard = stats.histograms.add(type=statistics_pb2.Histogram.STANDARD)
    if stats.max > stats.min:
        edges = np.linspace(stats.min, stats.max, STANDARD_BUCKETS + 1)
        cuts = np.searchsorted(ordered, edges[1:-1], side="left")
        counts = np.diff(np.concatenate([[0], cuts, [ordered.size]]))
    else:
        edges, counts = np.array([stats.min, stats.max]), np.array([ordered.size])
    for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True):
        standard.buckets.add(low_value=low, high_value=high, sample_count=float(count * scale))
    quantiles = stats.histograms.add(type=statistics_pb2.Histogram.QUANTILES)
    cuts = _quantiles(ordered, np.linspace(0, 1, QUANTILE_BUCKETS + 1))
    cuts[0], cuts[-1] = stats.min, stats.max
    for low, high in zip(cuts[:-1], cuts[1:], strict=True):
        quantiles.buckets.add(low_value=low, high_value=high, sample_count=total / QUANTILE_BUCKETS)


def _common(stats: statistics_pb2.CommonStatistics, present: int, missing: int) -> None:
    stats.num_non_missing = present
    stats.num_missing = missing
    stats.min_num_values = stats.max_num_values = 1 if present else 0
    stats.avg_num_values = 1.0 if present else 0.0
    stats.tot_num_values = present


def _numeric_feature(feature, acc: _Numeric, sample: np.ndarray) -> None:
    import numpy as np
    num = feature.num_stats
    _common(num.common_stats, acc.present, acc.missing)
    if acc.count:
        num.mean = acc.mean
        num.std_dev = float(np.sqrt(acc.m2 / acc.count))
        num.min, num.max, num.num_zeros = acc.min, acc.max, acc.zeros
        ordered = np.sort(sample[np.isfinite(sample)])
        num.median = float(_quantiles(ordered, np.array([0.5]))[0]) if ordered.size else acc.mean
        if ordered.size:
            _histograms(num, ordered, acc.count)


def _time_stats(feature, acc: _Strings) -> None:
    """Marks a column of dates: its format, and a histogram of days since the epoch (for drift)."""
    import numpy as np
    import pandas as pd

    from kfp_mlops.components.core.timestamps import DAYS_STAT, FORMAT_STAT, detect_format, to_days

    if acc.pruned or acc.counts.empty:
        return
    time_format = detect_format(acc.counts.index)
    if time_format is None:
        return
    days, _ = to_days(pd.Series(acc.counts.index, dtype=object), time_format)
    order = np.argsort(days, kind="stable")
    ordered = np.repeat(days[order], acc.counts.to_numpy()[order])
    feature.custom_stats.add(name=FORMAT_STAT, str=time_format)
    holder = statistics_pb2.NumericStatistics(min=float(ordered[0]), max=float(ordered[-1]))
    _histograms(holder, ordered, ordered.size)
    histogram = next(h for h in holder.histograms if h.type == statistics_pb2.Histogram.QUANTILES)
    feature.custom_stats.add(name=DAYS_STAT).histogram.CopyFrom(histogram)


def _string_feature(feature, acc: _Strings) -> None:
    strings = feature.string_stats
    _common(strings.common_stats, acc.count, acc.missing)
    strings.unique = len(acc.counts)
    if acc.count:
        strings.avg_length = acc.length / acc.count
    ranked = acc.counts.sort_values(ascending=False, kind="stable")
    for value, count in ranked.head(TOP_VALUES).items():
        strings.top_values.add(value=str(value), frequency=float(count))
    for rank, (value, count) in enumerate(ranked.head(RANK_BUCKETS).items()):
        strings.rank_histogram.buckets.add(
            low_rank=rank, high_rank=rank, label=str(value), sample_count=float(count)
        )
    if acc.pruned:
        feature.custom_stats.add(name="unique_is_lower_bound", num=1.0)
    _time_stats(feature, acc)


def _is_table(data_path: str | os.PathLike) -> bool:
    """True for a source the engine reads: a folder, a remote URI, or a Parquet file."""
    from kfp_mlops.components.core.sources import PARQUET_MAGIC, is_remote

    path = Path(data_path)
    if is_remote(data_path) or path.is_dir():
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == PARQUET_MAGIC
    except OSError:
        return False


def compute_statistics(
    data_path: str | os.PathLike,
    block_size: int = BLOCK_SIZE,
    sample_size: int = SAMPLE_SIZE,
    max_tracked_values: int = MAX_TRACKED_VALUES,
) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Computes TFDV-compatible statistics of a CSV file in bounded memory.

    Args:
        data_path: A CSV file with a header row.
        block_size: Bytes of CSV text parsed per block.
        sample_size: Rows kept in the uniform sample used for medians and histograms.
        max_tracked_values: Distinct values counted exactly per string column.

    Returns:
        A ``DatasetFeatureStatisticsList`` with one dataset.

    A Parquet source (a file, a folder of shards, a ``gs://``/``s3://`` URI) is
    profiled by the embedded engine instead (:mod:`.table_statistics`), with
    quantiles from all rows.

    Raises:
        InputError: If the file is not a readable CSV (see :class:`.reader.CsvBatches`).
    """
    import numpy as np
    import pyarrow as pa
    if _is_table(data_path):
        from kfp_mlops.components.validation.table_statistics import table_statistics

        return table_statistics(data_path, max_tracked_values=max_tracked_values)
    batches = CsvBatches(data_path, block_size=block_size)
    rows, sample = 0, _RowSample(sample_size)
    accumulators: dict[str, _Strings | _Numeric] = {}
    started = time.monotonic()
    next_report = started + PROGRESS_SECONDS
    for restart, batch in batches.read():
        if restart or not accumulators:
            rows, sample = 0, _RowSample(sample_size)
            accumulators = {
                name: _Strings(max_tracked_values) if pa.types.is_string(kind) else _Numeric()
                for name, kind in batches.column_types.items()
            }
        numeric: dict[str, np.ndarray] = {}
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            accumulator = accumulators[name]
            if isinstance(accumulator, _Numeric):
                if pa.types.is_boolean(column.type):
                    column = column.cast(pa.int8())
                numeric[name] = accumulator.add(column)
            else:
                accumulator.add(column)
        sample.add(numeric, batch.num_rows)
        rows += batch.num_rows
        if time.monotonic() >= next_report:  # long reads say how far they are
            logger.info(f"{rows:,} rows read from {Path(data_path).name} "
                  f"({time.monotonic() - started:.0f} s)")
            next_report = time.monotonic() + PROGRESS_SECONDS
    sample.prune()
    result = statistics_pb2.DatasetFeatureStatisticsList()
    dataset = result.datasets.add(name=Path(data_path).name, num_examples=rows)
    for name, kind in batches.column_types.items():
        feature = dataset.features.add()
        feature.path.step.append(name)
        acc = accumulators.get(name)  # a _Strings for a string column, else a _Numeric; None when no rows
        if pa.types.is_string(kind):
            feature.type = FeatureType.STRING
            _string_feature(feature, acc if isinstance(acc, _Strings) else _Strings(max_tracked_values))
        else:
            acc = acc if isinstance(acc, _Numeric) else _Numeric()
            floating = pa.types.is_floating(kind) and not (acc.integral and acc.present)
            feature.type = FeatureType.FLOAT if floating else FeatureType.INT
            _numeric_feature(feature, acc, sample.values.get(name, np.empty(0)))
            if pa.types.is_boolean(kind):
                feature.custom_stats.add(name=BOOLEAN_STAT, num=1.0)
    return result


def feature_name(feature: statistics_pb2.FeatureNameStatistics) -> str:
    """Returns a feature's name, whether stored in ``name`` or in ``path`` (TFDV does both)."""
    return feature.name or ".".join(feature.path.step)


def common_stats(feature: statistics_pb2.FeatureNameStatistics) -> statistics_pb2.CommonStatistics:
    """Returns the CommonStatistics of a numeric, string or bytes feature."""
    kind = feature.WhichOneof("stats")
    if kind == "num_stats":
        return feature.num_stats.common_stats
    if kind == "string_stats":
        return feature.string_stats.common_stats
    if kind == "bytes_stats":
        return feature.bytes_stats.common_stats
    return statistics_pb2.CommonStatistics()


def write_statistics(stats: statistics_pb2.DatasetFeatureStatisticsList, path: str | os.PathLike) -> None:
    """Writes statistics as a binary ``DatasetFeatureStatisticsList`` (TFDV's ``load_stats_binary``)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(stats.SerializeToString())


def read_statistics(path: str | os.PathLike) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Reads a binary (or text) ``DatasetFeatureStatisticsList``; returns its first dataset's list.

    Raises:
        InputError: If the file is missing or is not a statistics proto.
    """
    from kfp_mlops.components.core.protos import read_proto

    stats = read_proto(path, statistics_pb2.DatasetFeatureStatisticsList(), "statistics file not found: {path}",
                       "{path} is not a DatasetFeatureStatisticsList proto", binary_first=True)
    if not stats.datasets:
        raise InputError(f"{path} holds no dataset statistics")
    return stats
