"""KFP component for data ingestion."""
from kfp.dsl import Dataset, Output

from kfp_mlops.components.images import component


@component("core")
def ingest_data(
    data_path: str,
    label: str,
    train: Output[Dataset],
    eval: Output[Dataset],  # noqa: A002 - the split's name in the user's words
    test: Output[Dataset],
    eval_fraction: float = 0.15,
    test_fraction: float = 0.15,
    data_fingerprint: str = "",
) -> str:
    """Reads a CSV or Parquet source and writes deterministic, hash-based train/eval/test splits.

    The rows stream through the embedded engine (DuckDB), so memory stays bounded
    whatever the source's size.

    Args:
        data_path: A CSV file, a Parquet file, a folder of Parquet shards, or a
            ``gs://``/``s3://`` URI of one (or a ``/gcs/`` FUSE path). Empty means
            the bundled palmerpenguins data.
        label: Name of the label column (``species`` for the bundled data).
        train: Training rows, a folder of Parquet shards.
        eval: Evaluation rows, a folder of Parquet shards.
        test: Test rows, a folder of Parquet shards.
        eval_fraction: Share of rows for ``eval``.
        test_fraction: Share of rows for ``test``.
        data_fingerprint: The content fingerprint from :func:`fingerprint_data`;
            it makes the cache key follow the file's content, not its path.

    Returns:
        The label column used.
    """
    from kfp_mlops.components.data.ingest import ingest_csv

    result = ingest_csv(
        data_path,
        label,
        {"train": train.path, "eval": eval.path, "test": test.path},
        eval_fraction=eval_fraction,
        test_fraction=test_fraction,
        data_fingerprint=data_fingerprint,
        file_format="parquet",
    )
    for name, artifact in (("train", train), ("eval", eval), ("test", test)):
        artifact.metadata.update(
            {"label": result.label, "rows": result.rows[name], "source": result.source,
             "source_sha256": result.source_sha256, "format": "parquet",
             "source_fingerprint": data_fingerprint, "source_format": result.source_format}
        )
    return result.label


@component("core")
def fingerprint_data(data_path: str) -> str:
    """Returns a content fingerprint of the data at ``data_path``; run it with caching off.

    The steps that read the data take this fingerprint as an input, so their
    cache key changes exactly when the content does (a file overwritten at the
    same path, a ``gs://`` object with a new generation).

    Args:
        data_path: A file, a folder, a ``gs://`` URI or a ``/gcs/`` FUSE path;
            empty means the bundled palmerpenguins data.

    Returns:
        The fingerprint, e.g. ``sha256:<hex>``.
    """
    from kfp_mlops.components.data.fingerprint import fingerprint

    return fingerprint(data_path)
