"""Collects the serving data that monitoring checks: the endpoint's prediction log or a batch CSV."""
from __future__ import annotations

import os
from pathlib import Path

from kfp_mlops.components.data.ingest import read_csv
from kfp_mlops.components.errors import InputError
from kfp_mlops.components.monitoring.prediction_log import read_prediction_log

LOG_COLUMNS = ("prediction", "model_version", "ts")


def collect_serving_data(source: str | os.PathLike, output_path: str | os.PathLike,
                         drop_columns: tuple[str, ...] = (), since: float = 0.0) -> int:
    """Writes the feature rows of ``source`` as a CSV dataset.

    Args:
        source: A prediction-log folder (see ``prediction_log``) or a CSV of rows.
        output_path: The CSV to write.
        drop_columns: Columns to leave out, e.g. the label of a labelled batch.
        since: For a log folder, keep records at or after this UNIX time.

    Returns:
        The number of rows written.

    Raises:
        InputError: If the source is missing, empty or not readable.
    """
    path = Path(source)
    if path.is_dir():
        frame = read_prediction_log(path, since=since).drop(columns=list(LOG_COLUMNS), errors="ignore")
    elif path.exists():
        frame = read_csv(path)
    else:
        raise InputError(f"serving data not found: {source} (expected a prediction-log folder or a CSV)")
    frame = frame.drop(columns=[c for c in drop_columns if c in frame.columns])
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output_path, index=False)
    print(f"[monitoring] collected {len(frame)} serving rows from {source}", flush=True)
    return len(frame)
