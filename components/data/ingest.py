"""Ingest a CSV or Parquet source and split it deterministically into train, eval and test.

The split is by a hash of each row's content, not by a random state, so the
same row always lands in the same split whatever the file's row order, and
duplicate rows never leak across splits.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.tables import BUNDLED_LABEL, bundled_dataset_path

logger = logging.getLogger(__name__)

SPLITS = ("train", "eval", "test")


def split_buckets(frame: pd.DataFrame, buckets: int = 10_000) -> np.ndarray:
    """Returns a bucket in ``[0, buckets)`` for each row, from a hash of its content.

    The hash is the engine's (:func:`.queries.bucket_sql`): the ingestion of a file
    and this function over a DataFrame run the same query definition.
    """
    import duckdb

    from kfp_mlops.components.core.queries import quote

    named = frame.set_axis([str(c) for c in frame.columns], axis=1)
    with duckdb.connect() as con:
        con.register("frame", named)
        hashes = con.execute(f"SELECT hash({', '.join(quote(c) for c in named.columns)}) FROM frame").fetchnumpy()
    values = next(iter(hashes.values()))
    return (np.asarray(values, dtype=np.uint64) % np.uint64(buckets)).astype(np.int64)


def check_fractions(eval_fraction: float, test_fraction: float) -> None:
    """Raises InputError unless both fractions are in [0, 1) and leave rows for training."""
    for name, value in (("eval_fraction", eval_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise InputError(f"{name} must be in [0, 1), got {value}")
    if eval_fraction + test_fraction >= 1.0:
        raise InputError("eval_fraction + test_fraction must leave rows for training")


def assign_splits(
    frame: pd.DataFrame, eval_fraction: float = 0.15, test_fraction: float = 0.15
) -> np.ndarray:
    """Returns ``"train"``, ``"eval"`` or ``"test"`` for each row, deterministically.

    Raises:
        InputError: If the fractions are not in [0, 1) or leave no training rows.
    """
    check_fractions(eval_fraction, test_fraction)
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
    file_format: str = "parquet"
    source_format: str = "csv"


def ingest_csv(
    data_path: str,
    label: str,
    output_paths: dict[str, str],
    eval_fraction: float = 0.15,
    test_fraction: float = 0.15,
    data_fingerprint: str = "",
    file_format: str = "",
) -> IngestResult:
    """Reads a CSV or Parquet source, checks it and writes train/eval/test splits, on the embedded engine.

    The rows stream through DuckDB (:mod:`.engine`): memory stays bounded whatever
    the source's size. Each labelled row goes to the split of its content hash
    (:func:`.queries.split_case_sql`); the data contract is checked on the way
    (:mod:`.checks`).

    Args:
        data_path: A CSV or Parquet file, a folder of Parquet shards, or a
            ``gs://``/``s3://`` URI (see :mod:`.sources`); empty means the bundled
            palmerpenguins data.
        label: The label column; empty means ``species`` for the bundled data.
        output_paths: Output path per split name (``train``, ``eval``, ``test``).
        eval_fraction: Share of rows for the eval split.
        test_fraction: Share of rows for the test split.
        data_fingerprint: The fingerprint the run's cache key was built from
            (:func:`.fingerprint.fingerprint`); a ``sha256:`` one must match the
            bytes read, so the cached outputs always belong to the content.
        file_format: ``parquet`` (a folder of shards per split) or ``csv``; empty
            means ``csv`` when every output path ends in ``.csv``, else ``parquet``.

    Returns:
        Row counts per split and the source's sha256 (of a local file; empty otherwise).

    Raises:
        InputError: For a bad file, a missing label column, a label with a
            single value, too few rows, or a file that changed during the run.
    """
    from kfp_mlops.components.core.engine import DuckDBEngine
    from kfp_mlops.components.core.sources import resolve
    from kfp_mlops.components.data.checks import check_staged, check_text_file

    check_fractions(eval_fraction, test_fraction)
    source_path = data_path or bundled_dataset_path()
    label = label or (BUNDLED_LABEL if not data_path else "")
    if not label:
        raise InputError("no label column given: pass the name of the column to predict")
    logger.info(f"reading {source_path}")
    source = resolve(source_path)
    sha256 = check_text_file(source) if source.kind == "csv" and not source.remote else ""
    if data_fingerprint.startswith("sha256:") and not source.remote:
        if not sha256:
            from kfp_mlops.components.data.fingerprint import fingerprint

            sha256 = fingerprint(source_path).removeprefix("sha256:")
        if data_fingerprint != f"sha256:{sha256}":
            raise InputError(f"{source_path} changed while the run was reading it; run again")
    file_format = file_format or ("csv" if all(str(p).endswith(".csv") for p in output_paths.values()) else "parquet")
    fractions = {"train": 1.0 - eval_fraction - test_fraction, "eval": eval_fraction, "test": test_fraction}
    with DuckDBEngine() as engine:
        result = engine.split(
            source, label, {name: output_paths[name] for name in SPLITS}, eval_fraction, test_fraction, file_format,
            check=lambda eng, staged, columns: check_staged(eng, staged, columns, source.uri, label, fractions))
    rows = result.rows
    logger.info(
        f"{sum(rows.values())} rows -> " + ", ".join(f"{k}={v}" for k, v in rows.items())
        + (f" (dropped {result.dropped_unlabelled} rows with no label)" if result.dropped_unlabelled else ""))
    return IngestResult(
        source=str(source_path),
        label=label,
        rows=rows,
        columns=result.columns,
        source_sha256=sha256,
        dropped_unlabelled=result.dropped_unlabelled,
        file_format=file_format,
        source_format=source.kind,
    )
