"""Ingest a CSV and split it deterministically into train, eval and test.

The split is by a hash of each row's content, not by a random state, so the
same row always lands in the same split whatever the file's row order, and
duplicate rows never leak across splits.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kfp_mlops.components.data.contract import (
    check_label,
    check_rows,
    check_values,
    parse_header,
    scan_file,
)
from kfp_mlops.components.errors import InputError
from kfp_mlops.components.validation.reader import check_file

SPLITS = ("train", "eval", "test")
_SNIFF_BYTES = 64 * 1024


def bundled_dataset_path() -> str:
    """Returns the path of the palmerpenguins CSV that ships in its wheel."""
    import palmerpenguins

    return str(Path(palmerpenguins.__file__).parent / "data" / "penguins.csv")


BUNDLED_LABEL = "species"


def read_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Reads a CSV file with a header, checking the data contract (see :mod:`.contract`).

    Args:
        path: The CSV file.

    Returns:
        The rows as a DataFrame.

    Raises:
        InputError: If the file is missing, unreadable, empty, binary anywhere,
            not comma-separated UTF-8 text, ragged, has duplicate column names,
            infinite numbers or numeric-looking columns holding text, or has a
            header and no rows.
    """
    return read_checked(path)[0]


def read_checked(path: str | os.PathLike) -> tuple[pd.DataFrame, str]:
    """:func:`read_csv` that also returns the file's sha256 (from the same scan).

    A BigQuery source (``bq://project.dataset.table`` or a query) is read through the
    client (:func:`.bigquery.read_frame`); its digest is the SHA-256 of the rows read.
    """
    from kfp_mlops.components.data.bigquery import is_bigquery, read_frame

    if is_bigquery(str(path)):
        frame, digest = read_frame(str(path))
        check_values(frame, path)
        return frame, digest
    path = check_file(path)  # missing, unreadable, a directory, empty or binary at the start
    sha256 = scan_file(path)  # binary bytes anywhere
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not just a multi-byte char cut at the sniff boundary
            raise InputError(
                f"{path} is not UTF-8 text (bad byte at offset {error.start}); re-save it as UTF-8 CSV"
            ) from None
    parse_header(path, head)  # duplicate names, before pandas renames them
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"data file has no header row: {path}") from None
    except pd.errors.ParserError as error:
        raise InputError(f"{path} is not a well-formed CSV: {str(error).strip().splitlines()[0]}") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is not UTF-8 text (bad byte at offset {error.start})") from None
    if frame.shape[1] < 2:
        raise InputError(
            f"{path} does not look like a CSV with features and a label: "
            f"found {frame.shape[1]} column ({', '.join(map(str, frame.columns))})"
        )
    if frame.empty:
        raise InputError(f"{path} has a header but no data rows")
    check_values(frame, path)
    return frame, sha256


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


def load_labelled(data_path: str, label: str) -> tuple[pd.DataFrame, str, str, int]:
    """Reads the CSV (or the bundled data), checks the label and drops unlabelled rows.

    Args:
        data_path: The CSV to read; empty means the bundled palmerpenguins data.
        label: The label column; empty means ``species`` for the bundled data.

    Returns:
        The labelled rows, the source path, the label and how many rows had no label.

    Raises:
        InputError: For a bad file or a label column that is missing or empty.
    """
    return _load_labelled(data_path, label)[:4]


def _load_labelled(data_path: str, label: str) -> tuple[pd.DataFrame, str, str, int, str]:
    """:func:`load_labelled`, plus the file's sha256."""
    source = data_path or bundled_dataset_path()
    label = label or (BUNDLED_LABEL if not data_path else "")
    if not label:
        raise InputError("no label column given: pass the name of the column to predict")
    print(f"[ingest] reading {source}", flush=True)
    frame, sha256 = read_checked(source)
    if label not in frame.columns:
        raise InputError(
            f"label column {label!r} not found in {source}; columns are: {', '.join(map(str, frame.columns))}"
        )
    unlabelled = int(frame[label].isna().sum())
    if unlabelled == len(frame):
        raise InputError(f"label column {label!r} in {source} has no values")
    return frame[frame[label].notna()].reset_index(drop=True), str(source), label, unlabelled, sha256


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
    frame, source, label, unlabelled, sha256 = _load_labelled(data_path, label)
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
