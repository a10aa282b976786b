"""The serving log: one time-partitioned Parquet format for every endpoint's traffic.

The local endpoint (:class:`~kfp_mlops.components.monitoring.prediction_log.PredictionLogger`)
and the KServe payload-logger sink (:mod:`kfp_mlops.components.monitoring.kserve_sink`)
both write it, so one reader serves both. Layout, Hive-partitioned by UTC hour::

    <root>/date=2026-12-02/hour=07/part-<time_ns>-<id>.parquet

Each row is one scored instance:

| column | type | what |
|---|---|---|
| ``ts`` | timestamp (ms, UTC) | when it was served |
| ``request_id`` | string | the request it belongs to |
| ``model`` | string | model or InferenceService name |
| ``model_version`` | string | the version that answered |
| ``features`` | string | the instance, a JSON object of feature -> value |
| ``prediction`` | string | the prediction, JSON |

``root`` is a local folder or a ``gs://`` / ``s3://`` URI (pyarrow's file systems).
"""
from __future__ import annotations

import json
import logging
import math
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Iterable, Mapping

import pandas as pd
import pyarrow as pa

from kfp_mlops.components.core.errors import InputError

logger = logging.getLogger(__name__)

SCHEMA = pa.schema([
    ("ts", pa.timestamp("ms", tz="UTC")),
    ("request_id", pa.string()),
    ("model", pa.string()),
    ("model_version", pa.string()),
    ("features", pa.string()),
    ("prediction", pa.string()),
])
PART_PREFIX = "part-"


@dataclass(frozen=True)
class ServedRow:
    """One scored instance.

    Attributes:
        ts: UNIX time (seconds) it was served.
        request_id: The request it belongs to.
        model: Model or InferenceService name.
        model_version: The version that answered.
        features: Feature name -> value.
        prediction: The prediction (a label, a number, or a JSON-friendly object).
    """

    ts: float
    request_id: str
    model: str
    model_version: str
    features: Mapping[str, Any]
    prediction: Any


def plain(value: Any) -> Any:
    """Turns numpy scalars and arrays into JSON-friendly values (NaN becomes None)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    elif hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def filesystem_of(root: str | os.PathLike) -> tuple[Any, str]:
    """The pyarrow file system and path of a local folder or a ``gs://`` / ``s3://`` URI."""
    from pyarrow import fs

    text = str(root)
    if "://" in text:
        return fs.FileSystem.from_uri(text)
    return fs.LocalFileSystem(), os.path.abspath(text)


def partition_dir(ts: float) -> str:
    """The ``date=.../hour=...`` folder of a UNIX time, in UTC."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return f"date={moment:%Y-%m-%d}/hour={moment:%H}"


def write_rows(root: str | os.PathLike, rows: Iterable[ServedRow]) -> list[str]:
    """Writes rows as one Parquet file per hour partition; returns the files written.

    Args:
        root: The log's root folder or URI.
        rows: The rows; an empty iterable writes nothing.
    """
    by_partition: dict[str, list[ServedRow]] = {}
    for row in rows:
        by_partition.setdefault(partition_dir(row.ts), []).append(row)
    if not by_partition:
        return []
    import pyarrow.parquet as pq

    filesystem, base = filesystem_of(root)
    written = []
    for partition, items in sorted(by_partition.items()):
        table = pa.table({
            "ts": pa.array([int(item.ts * 1000) for item in items], pa.timestamp("ms", tz="UTC")),
            "request_id": [item.request_id for item in items],
            "model": [item.model for item in items],
            "model_version": [item.model_version for item in items],
            "features": [json.dumps({k: plain(v) for k, v in item.features.items()}, default=plain)
                         for item in items],
            "prediction": [json.dumps(plain(item.prediction), default=plain) for item in items],
        }, schema=SCHEMA)
        folder = f"{base.rstrip('/')}/{partition}"
        filesystem.create_dir(folder, recursive=True)
        path = f"{folder}/{PART_PREFIX}{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        pq.write_table(table, path, filesystem=filesystem)
        written.append(path)
    return written


def list_parts(root: str | os.PathLike) -> list[Any]:
    """The log's Parquet files (pyarrow ``FileInfo``), oldest first by name."""
    from pyarrow import fs

    filesystem, base = filesystem_of(root)
    try:
        infos = filesystem.get_file_info(fs.FileSelector(base, recursive=True, allow_not_found=True))
    except (OSError, ValueError):
        return []
    parts = [info for info in infos if info.type == fs.FileType.File
             and info.base_name.startswith(PART_PREFIX) and info.base_name.endswith(".parquet")]
    return sorted(parts, key=lambda info: info.base_name)


def is_serving_log(root: str | os.PathLike) -> bool:
    """True when ``root`` holds serving-log Parquet parts."""
    return bool(list_parts(root))


def parse_time(value: float | str | None) -> pd.Timestamp | None:
    """A UTC timestamp from a UNIX time or an ISO 8601 string (``2026-12-02``, ``2026-12-02T07:00Z``)."""
    if value in (None, "", 0, 0.0):
        return None
    try:
        if isinstance(value, (int, float)):
            return pd.Timestamp(value, unit="s", tz="UTC")
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InputError(f"not a time: {value!r} (expected ISO 8601, e.g. 2026-12-02T07:00:00Z)") from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def read_serving_log(root: str | os.PathLike, since: float | str | None = None,
                     until: float | str | None = None) -> pd.DataFrame:
    """Reads the served rows in ``[since, until)`` as feature columns plus the log's columns.

    Only the hour partitions that overlap the window are opened.

    Args:
        root: The log's root folder or URI.
        since: Keep rows served at or after this time (UNIX seconds or ISO 8601).
        until: Keep rows served before this time.

    Returns:
        One row per served instance: its features, then ``prediction`` (decoded JSON),
        ``model_version``, ``model``, ``request_id`` and ``ts`` (UTC).

    Raises:
        InputError: If the window holds no rows, or a part is not a serving-log file.
    """
    import pyarrow.dataset as ds

    start, end = parse_time(since), parse_time(until)
    if start is not None and end is not None and start >= end:
        raise InputError(f"empty time window: --since {since} is not before --until {until}")
    filesystem, _ = filesystem_of(root)
    paths = [info.path for info in list_parts(root) if _overlaps(info.path, start, end)]
    frames = []
    if paths:
        try:
            table = ds.dataset(paths, filesystem=filesystem, format="parquet", schema=SCHEMA).to_table()
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(f"{root}: not a serving log ({str(error).splitlines()[0]})") from None
        frames.append(table.to_pandas())
    frame = pd.concat(frames) if frames else pd.DataFrame(columns=SCHEMA.names)
    if start is not None:
        frame = frame[frame["ts"] >= start]
    if end is not None:
        frame = frame[frame["ts"] < end]
    if frame.empty:
        window = "" if start is None and end is None else f" between {start or '-'} and {end or '-'}"
        raise InputError(f"no served rows in {root}{window}")
    frame = frame.sort_values("ts", kind="stable").reset_index(drop=True)
    features = pd.DataFrame.from_records([json.loads(text) for text in frame["features"]])
    log = pd.DataFrame({
        "prediction": [json.loads(text) for text in frame["prediction"]],
        "model_version": frame["model_version"].to_numpy(),
        "model": frame["model"].to_numpy(),
        "request_id": frame["request_id"].to_numpy(),
        "ts": frame["ts"].to_numpy(),
    })
    return pd.concat([features, log.drop(columns=[c for c in log.columns if c in features.columns])], axis=1)


def _overlaps(path: str, start: pd.Timestamp | None, end: pd.Timestamp | None) -> bool:
    """Whether a part's hour partition can hold rows in ``[start, end)`` (unpartitioned parts: always)."""
    try:
        date = path.split("date=", 1)[1].split("/", 1)[0]
        hour = path.split("hour=", 1)[1].split("/", 1)[0]
        first = pd.Timestamp(f"{date}T{hour}:00:00", tz="UTC")
    except (IndexError, ValueError):
        return True
    return (end is None or first < end) and (start is None or first + pd.Timedelta(hours=1) > start)


LOG_COLUMNS = ("prediction", "model_version", "model", "request_id", "ts")
