"""Batch prediction: score a CSV with a model directory, in chunks, recording the model version."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from kfp_mlops.components.core.model_io import load_model
from kfp_mlops.components.core.sources import iter_frames

logger = logging.getLogger(__name__)

PREDICTION_COLUMN = "prediction"
VERSION_COLUMN = "model_version"


@dataclass
class BatchPredictionResult:
    """What :func:`predict_batch` wrote."""

    rows: int
    output_path: str
    model_version: str
    prediction_counts: dict


def predict_batch(
    model_dir: str | os.PathLike,
    data_path: str | os.PathLike,
    output_path: str | os.PathLike,
    model_version: str,
    chunk_rows: int = 100_000,
) -> BatchPredictionResult:
    """Scores every row of a CSV and writes the rows with their predictions.

    The output keeps the input columns and adds ``prediction``, one
    ``proba_<class>`` column per class for classifiers, and ``model_version``.

    Args:
        model_dir: A model directory (see ``model_io``).
        data_path: CSV or Parquet (a file, a folder of shards, or a gs:// or s3:// URI) with
            the model's feature columns (a label column is kept as is).
        output_path: CSV to write.
        model_version: Recorded in every output row, e.g. ``v3``.
        chunk_rows: Rows scored at a time, so memory stays bounded.

    Raises:
        InputError: For a bad file or missing feature columns (named).
    """
    predictor = load_model(model_dir)
    output = Path(output_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    total = 0
    counts: dict[str, int] = {}
    for number, chunk in enumerate(iter_frames(data_path, chunk_rows)):
        scored = chunk.copy()
        scored[PREDICTION_COLUMN] = predictor.predict(chunk)
        probabilities = predictor.predict_proba(chunk)
        if probabilities is not None:
            for index, name in enumerate(predictor.contract.classes):
                scored[f"proba_{name}"] = probabilities[:, index]
        scored[VERSION_COLUMN] = model_version
        scored.to_csv(output, mode="w" if number == 0 else "a", header=number == 0, index=False)
        total += len(chunk)
        for value, count in scored[PREDICTION_COLUMN].value_counts().items():
            counts[str(value)] = counts.get(str(value), 0) + int(count)
        logger.info(f"scored {total} rows")
    return BatchPredictionResult(total, str(output), model_version, counts)
