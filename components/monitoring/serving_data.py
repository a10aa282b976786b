"""Collects the serving data that monitoring checks, from where each platform logs it.

Sources:
- a serving log (:mod:`~kfp_mlops.components.monitoring.serving_log`): the local endpoint's
  prediction log or the KServe payload-logger sink's output, a folder or a ``gs://`` /
  ``s3://`` URI;
- ``bq://PROJECT.DATASET.TABLE``: a Vertex AI endpoint's request-response logging table
  (:mod:`~kfp_mlops.components.monitoring.vertex_logging`);
- a CSV of rows (a batch).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.sources import read_table
from kfp_mlops.components.monitoring.serving_log import LOG_COLUMNS, is_serving_log, read_serving_log

logger = logging.getLogger(__name__)


def read_serving_rows(source: str | os.PathLike, since: float | str | None = None,
                      until: float | str | None = None) -> pd.DataFrame:
    """Reads the served feature rows of ``source`` in the time window ``[since, until)``.

    Raises:
        InputError: If the source is missing, empty, not readable, or a CSV given a window.
    """
    text = str(source)
    if text.startswith("bq://"):
        from kfp_mlops.components.monitoring.vertex_logging import read_request_response_log

        rows = read_request_response_log(text, since=since, until=until)
        return rows.drop(columns=list(LOG_COLUMNS), errors="ignore")
    if "://" in text or Path(text).is_dir():
        if not is_serving_log(text):
            raise InputError(f"no served rows in {source} (expected a serving log: date=.../hour=.../part-*.parquet)")
        return read_serving_log(text, since=since, until=until).drop(columns=list(LOG_COLUMNS), errors="ignore")
    if Path(text).exists():
        if since or until:
            raise InputError(f"{source}: a CSV has no serving times; --since/--until need a serving log")
        return read_table(text)
    raise InputError(f"serving data not found: {source} (expected a serving-log folder or URI, bq://, or a CSV)")


def collect_serving_data(source: str | os.PathLike, output_path: str | os.PathLike,
                         drop_columns: tuple[str, ...] = (), since: float | str | None = None,
                         until: float | str | None = None) -> int:
    """Writes the feature rows of ``source`` (see :func:`read_serving_rows`) as a CSV dataset.

    Args:
        source: A serving-log folder or URI, ``bq://`` table, or a CSV of rows.
        output_path: The CSV to write.
        drop_columns: Columns to leave out, e.g. the label of a labelled batch.
        since: Keep rows served at or after this time (UNIX seconds or ISO 8601).
        until: Keep rows served before this time.

    Returns:
        The number of rows written.

    Raises:
        InputError: If the source is missing, empty or not readable.
    """
    frame = read_serving_rows(source, since=since, until=until)
    frame = frame.drop(columns=[c for c in drop_columns if c in frame.columns])
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output_path, index=False)
    logger.info(f"collected {len(frame)} serving rows from {source}")
    return len(frame)
