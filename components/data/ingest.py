"""Ingest a CSV and split it deterministically into train, eval and test.

The split is by a hash of each row's content, not by a random state, so the
same row always lands in the same split whatever the file's row order, and
duplicate rows never leak across splits.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kfp_mlops.components.core.data_contract import check_label, check_rows
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.tables import load_labelled_with_sha256

SPLITS = ("train", "eval", "test")


def split_buckets(frame: pd.DataFrame, buckets: int = 10_000) -> np.ndarray:
    """Returns a bucket in ``[0, buckets)`` for each row, from a hash of its content."""
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return (hashes % np.uint64(buckets)).astype(np.int64)


def assign_splits(
    frame: pd.DataFrame, eval_fraction: float = 0.15, test_fraction: float = 0.15
) -> np.ndarray:
    """Returns ``"train"``, ``"eval"`` or ``"test"`` for each row, deterministically.

    Raises:
        InputError: If the fractions are not in [0, 1) or leave no training rows.
    """
    for name, value in (("eval_fraction", eval_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise InputError(f"{name} must be in [0, 1), got {value}")
    if eval_fraction + test_fraction >= 1.0:
        raise InputError("eval_fraction + test_fraction must leave rows for training")
    buckets = split_buckets(frame) / 10_000.0
    train_cut = 1.0 - eval_fraction - test_fraction
    return np.where(
        buckets < train_cut, "train", np.where(buckets < train_cut + eval_fraction, "eval", "test")
    )


@dataclass
class IngestResult:
    """What :func:`ingest_csv` wrote."""

    source: str
    label: str
    rows: dict[str, int]
    columns: list[str]
    source_sha256: str
    dropped_unlabelled: int = 0


def ingest_csv(
    data_path: str,
    label: str,
    output_paths: dict[str, str],
    eval_fraction: float = 0.15,
    test_fraction: float = 0.15,
    data_fingerprint: str = "",
) -> IngestResult:
    """Reads a CSV, checks the label and writes train/eval/test CSV splits.

    Args:
        data_path: The CSV to read; empty means the bundled palmerpenguins data.
        label: The label column; empty means ``species`` for the bundled data.
        output_paths: File path per split name (``train``, ``eval``, ``test``).
        eval_fraction: Share of rows for the eval split.
        test_fraction: Share of rows for the test split.
        data_fingerprint: The fingerprint the run's cache key was built from
            (:func:`.fingerprint.fingerprint`); a ``sha256:`` one must match the
            bytes read, so the cached outputs always belong to the content.

    Returns:
        Row counts per split and the source's sha256.

    Raises:
        InputError: For a bad file, a missing label column, a label with a
            single value, too few rows, or a file that changed during the run.
    """
    frame, source, label, unlabelled, sha256 = load_labelled_with_sha256(data_path, label)
    if data_fingerprint.startswith("sha256:") and data_fingerprint != f"sha256:{sha256}":
        raise InputError(f"{source} changed while the run was reading it; run again")
    check_label(frame[label], source)
    check_rows(len(frame), source)
    splits = assign_splits(frame, eval_fraction, test_fraction)
    fractions = {"train": 1.0, "eval": eval_fraction, "test": test_fraction}
    rows = {}
    for name in SPLITS:
        part = frame[splits == name]
        if part.empty and fractions[name] > 0:
            raise InputError(f"the {name} split of {source} is empty: {len(frame)} labelled rows are too few "
                             f"for a {name} share of {fractions[name]:.0%}")
        Path(output_paths[name]).parent.mkdir(parents=True, exist_ok=True)
        part.to_csv(output_paths[name], index=False)
        rows[name] = int(len(part))
    print(
        f"[ingest] {len(frame)} rows -> " + ", ".join(f"{k}={v}" for k, v in rows.items())
        + (f" (dropped {unlabelled} rows with no label)" if unlabelled else ""),
        flush=True,
    )
    return IngestResult(
        source=str(source),
        label=label,
        rows=rows,
        columns=[str(c) for c in frame.columns],
        source_sha256=sha256,
        dropped_unlabelled=unlabelled,
    )
