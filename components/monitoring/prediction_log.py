"""Prediction logging: sampled, bounded, rotated JSON-lines files.

The local endpoint appends one record per scored row (features, prediction,
model version, time); the monitoring pipeline reads the records back as rows.
Files rotate at ``max_bytes``; at most ``max_files`` are kept, so the log
never grows past ``max_bytes * max_files``.
"""
from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from kfp_mlops.components.errors import InputError

LOG_PREFIX = "predictions"


class PredictionLogger:
    """Appends sampled prediction records to rotating files in ``log_dir``.

    Args:
        log_dir: Folder of the log files (created).
        sample_rate: Share of rows kept, in (0, 1].
        max_bytes: Size at which the current file rotates.
        max_files: Files kept, the current one included; older ones are deleted.
        seed: Seed of the sampler, for reproducible logs.
    """

    def __init__(self, log_dir: str | os.PathLike, sample_rate: float = 1.0,
                 max_bytes: int = 5_000_000, max_files: int = 5, seed: int | None = None):
        if not 0.0 < sample_rate <= 1.0:
            raise InputError(f"sample_rate must be in (0, 1], got {sample_rate}")
        if max_bytes <= 0 or max_files < 1:
            raise InputError("max_bytes must be positive and max_files at least 1")
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.sample_rate, self.max_bytes, self.max_files = sample_rate, max_bytes, max_files
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    @property
    def current(self) -> Path:
        """The file being appended to."""
        return self.log_dir / f"{LOG_PREFIX}.jsonl"

    def log(self, rows: Iterable[Mapping[str, Any]], predictions: Iterable[Any], model_version: str) -> int:
        """Logs a sample of scored rows; returns how many were written."""
        now = time.time()
        lines = [
            json.dumps({"ts": now, "model_version": model_version, "features": dict(row),
                        "prediction": _plain(prediction)}, default=_plain)
            for row, prediction in zip(rows, predictions)
            if self.sample_rate >= 1.0 or self._random.random() < self.sample_rate
        ]
        if not lines:
            return 0
        with self._lock:
            with open(self.current, "a", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
            if self.current.stat().st_size >= self.max_bytes:
                self._rotate()
        return len(lines)

    def _rotate(self) -> None:
        """Renames the current file to a numbered one and drops the oldest beyond ``max_files``."""
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{time.time_ns() % 1_000_000_000:09d}"
        self.current.rename(self.log_dir / f"{LOG_PREFIX}-{stamp}.jsonl")
        rotated = sorted(self.log_dir.glob(f"{LOG_PREFIX}-*.jsonl"))
        for old in rotated[: max(0, len(rotated) - (self.max_files - 1))]:
            old.unlink(missing_ok=True)


def _plain(value: Any) -> Any:
    """Turns numpy scalars and arrays into JSON-friendly values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return value


def read_prediction_log(log_dir: str | os.PathLike, since: float = 0.0) -> pd.DataFrame:
    """Reads logged rows (features, plus ``prediction`` and ``model_version`` columns).

    Args:
        log_dir: The logger's folder.
        since: Keep records at or after this UNIX time.

    Raises:
        InputError: If the folder holds no records.
    """
    files = sorted(Path(log_dir).glob(f"{LOG_PREFIX}-*.jsonl")) + [Path(log_dir) / f"{LOG_PREFIX}.jsonl"]
    records = []
    for path in files:
        if not path.exists():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(f"{path}:{number} is not a JSON prediction record") from None
            if record.get("ts", 0) >= since:
                records.append({**record["features"], "prediction": record["prediction"],
                                "model_version": record["model_version"], "ts": record["ts"]})
    if not records:
        raise InputError(f"no logged predictions in {log_dir}")
    return pd.DataFrame.from_records(records)


def logged_predictor(predictor: Any, logger: PredictionLogger, model_version: str) -> Any:
    """Wraps a ``model_io.Predictor`` so every ``predict`` call is logged (sampled) by ``logger``.

    The endpoint serves the wrapper like any predictor; monitoring later reads
    the log with :func:`read_prediction_log`.
    """
    from kfp_mlops.components.training.model_io import Predictor

    class LoggedPredictor(Predictor):
        """A predictor that logs its inputs and predictions."""

        def predict(self, frame: pd.DataFrame) -> Any:
            predictions = super().predict(frame)
            logger.log(frame[self.contract.feature_names].to_dict("records"), predictions, model_version)
            return predictions

    return LoggedPredictor(predictor.model, predictor.contract)
