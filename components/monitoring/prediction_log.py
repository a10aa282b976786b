"""Prediction logging for the local endpoint: sampled and bounded, in the serving-log format.

The local endpoint logs each scored row (features, prediction, model version, time)
through :class:`PredictionLogger` into the time-partitioned Parquet layout of
:mod:`kfp_mlops.components.monitoring.serving_log`, the same layout that the KServe
payload-logger sink writes, so the ``monitoring`` pipeline reads both with one reader.
The log never grows past ``max_bytes``: the oldest parts are deleted first.
"""
from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from typing import Any, Iterable, Mapping

import pandas as pd

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.monitoring.serving_log import (
    ServedRow,
    filesystem_of,
    list_parts,
    read_serving_log,
    write_rows,
)

logger = logging.getLogger(__name__)


class PredictionLogger:
    """Writes sampled prediction records to a serving log.

    Args:
        log_dir: The log's root folder, or a ``gs://`` / ``s3://`` URI.
        sample_rate: Share of rows kept, in (0, 1].
        max_bytes: Size bound of the whole log (checked every 5% of it written); the oldest parts
            are deleted beyond it.
        model: The model's name, recorded with every row.
        flush_rows: Rows buffered before a Parquet part is written (1: every call
            is written at once, readable immediately).
        flush_seconds: A buffer older than this is written at the next call.
        seed: Seed of the sampler, for reproducible logs.
    """

    def __init__(self, log_dir: str | os.PathLike, sample_rate: float = 1.0, max_bytes: int = 25_000_000,
                 model: str = "", flush_rows: int = 1, flush_seconds: float = 5.0, seed: int | None = None):
        if not 0.0 < sample_rate <= 1.0:
            raise InputError(f"sample_rate must be in (0, 1], got {sample_rate}")
        if max_bytes <= 0 or flush_rows < 1:
            raise InputError("max_bytes must be positive and flush_rows at least 1")
        self.log_dir = log_dir
        self.sample_rate, self.max_bytes, self.model = sample_rate, max_bytes, model
        self.flush_rows, self.flush_seconds = flush_rows, flush_seconds
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._buffer: list[ServedRow] = []
        self._buffered_since = 0.0
        self._unchecked_bytes = max_bytes  # bytes written since the size bound was last checked

    def log(self, rows: Iterable[Mapping[str, Any]], predictions: Iterable[Any], model_version: str) -> int:
        """Logs a sample of scored rows (one request); returns how many were kept."""
        now = time.time()
        request_id = uuid.uuid4().hex
        kept = [
            ServedRow(now, request_id, self.model, model_version, dict(row), prediction)
            for row, prediction in zip(rows, predictions, strict=True)
            if self.sample_rate >= 1.0 or self._random.random() < self.sample_rate
        ]
        if not kept:
            return 0
        with self._lock:
            if not self._buffer:
                self._buffered_since = now
            self._buffer.extend(kept)
            if len(self._buffer) >= self.flush_rows or now - self._buffered_since >= self.flush_seconds:
                self._flush_locked()
        return len(kept)

    def flush(self) -> None:
        """Writes the buffered rows now."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        rows, self._buffer = self._buffer, []
        if not rows:
            return
        written = write_rows(self.log_dir, rows)
        filesystem, _ = filesystem_of(self.log_dir)
        self._unchecked_bytes += sum(info.size or 0 for info in filesystem.get_file_info(written))
        # Listing the whole log on every request would cost more as it grows: check the bound
        # each time another 5% of it has been written (the log may overshoot by that much).
        if self._unchecked_bytes >= self.max_bytes // 20:
            self._bound()
            self._unchecked_bytes = 0

    def _bound(self) -> None:
        """Deletes the oldest parts until the log fits in ``max_bytes``."""
        parts = list_parts(self.log_dir)
        total = sum(info.size for info in parts)
        filesystem, _ = filesystem_of(self.log_dir)
        for info in parts[:-1]:  # the newest part always stays
            if total <= self.max_bytes:
                break
            filesystem.delete_file(info.path)
            total -= info.size


def read_prediction_log(log_dir: str | os.PathLike, since: float | str | None = None,
                        until: float | str | None = None) -> pd.DataFrame:
    """Reads logged rows: the features, plus ``prediction``, ``model_version`` and ``ts`` columns.

    Raises:
        InputError: If the window holds no records.
    """
    return read_serving_log(log_dir, since=since, until=until)


def logged_predictor(predictor: Any, logger: PredictionLogger, model_version: str) -> Any:
    """Wraps a ``model_io.Predictor`` so every ``predict`` call is logged (sampled) by ``logger``.

    The endpoint serves the wrapper like any predictor; monitoring later reads
    the log with :func:`read_prediction_log`.
    """
    from kfp_mlops.components.core.model_io import Predictor

    class LoggedPredictor(Predictor):
        """A predictor that logs its inputs and predictions."""

        def predict(self, frame: pd.DataFrame) -> Any:
            predictions = super().predict(frame)
            logger.log(frame[self.contract.feature_names].to_dict("records"), predictions, model_version)
            return predictions

    return LoggedPredictor(predictor.model, predictor.contract)
