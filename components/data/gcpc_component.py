"""KFP components whose work is BigQuery query jobs, typed with GCPC's ``google.BQTable``.

- :func:`split_bigquery` splits a ``bq://`` table or a query inside BigQuery and exports
  the splits as Parquet shards: the Vertex ``training`` pipeline's ingestion for a
  BigQuery source (``kfp-mlops compile training --target vertex --data-source bigquery``).
- :func:`split_bigquery_table` does the same for a ``google.BQTable`` from an upstream
  step, such as GCPC's ``BigqueryQueryJobOp`` (its ``destination_table``), with lineage.
- :func:`read_bigquery` reads a modest table or query through the client into a CSV
  Dataset (the batch prediction pipeline's rows, ``--data-source bigquery``).

The type comes from ``google-cloud-pipeline-components`` (the ``[gcp]`` extra, which our
``core`` image installs).
"""
from google_cloud_pipeline_components.types.artifact_types import BQTable
from kfp.dsl import Dataset, Input, Output

from kfp_mlops.components.images import component


@component("core")
def split_bigquery(
    data_path: str,
    label: str,
    train: Output[Dataset],
    eval: Output[Dataset],  # noqa: A002 - the split's name in the user's words
    test: Output[Dataset],
    eval_fraction: float = 0.15,
    test_fraction: float = 0.15,
    project: str = "",
    location: str = "",
    data_fingerprint: str = "",
) -> str:
    """Splits a BigQuery table or query inside BigQuery, and exports each split as Parquet shards.

    A summary query checks the label and the split sizes first (the same checks as
    ``ingest_data``); then one ``EXPORT DATA`` query job per split writes
    ``<split>/part-*.parquet`` under the output's ``gs://`` URI. No row passes
    through this task. The split is :mod:`kfp_mlops.components.data.queries`'
    deterministic, content-hashed one.

    Args:
        data_path: ``bq://project.dataset.table``, or a query in BigQuery SQL.
        label: Name of the label column.
        train: Training rows, Parquet shards.
        eval: Evaluation rows, Parquet shards.
        test: Test rows, Parquet shards.
        eval_fraction: Share of rows for ``eval``.
        test_fraction: Share of rows for ``test``.
        project: Project that runs the query jobs; default: the table's.
        location: The jobs' BigQuery location (``US``, ``europe-west4``); default: inferred.
        data_fingerprint: The source's fingerprint from ``fingerprint_data`` (table etag
            and modification time): the cache key follows the table's content.

    Returns:
        The label column used.
    """
    from kfp_mlops.components.data.bigquery_split import split_in_bigquery

    outputs = {"train": train, "eval": eval, "test": test}
    result = split_in_bigquery(data_path, label, {name: artifact.uri for name, artifact in outputs.items()},
                               eval_fraction=eval_fraction, test_fraction=test_fraction, project=project,
                               location=location)
    for name, artifact in outputs.items():
        artifact.metadata.update({**result.metadata(name), "source_fingerprint": data_fingerprint})
    return result.label


@component("core")
def split_bigquery_table(
    table: Input[BQTable],
    label: str,
    train: Output[Dataset],
    eval: Output[Dataset],  # noqa: A002 - the split's name in the user's words
    test: Output[Dataset],
    eval_fraction: float = 0.15,
    test_fraction: float = 0.15,
    project: str = "",
    location: str = "",
) -> str:
    """:func:`split_bigquery` for a ``google.BQTable`` (e.g. GCPC ``BigqueryQueryJobOp``'s ``destination_table``).

    Args:
        table: The table: ``projectId``, ``datasetId`` and ``tableId`` in its metadata.
        label: Name of the label column.
        train: Training rows, Parquet shards.
        eval: Evaluation rows, Parquet shards.
        test: Test rows, Parquet shards.
        eval_fraction: Share of rows for ``eval``.
        test_fraction: Share of rows for ``test``.
        project: Project that runs the query jobs; default: the table's.
        location: The jobs' BigQuery location; default: inferred.

    Returns:
        The label column used.
    """
    from kfp_mlops.components.data.bigquery_split import split_in_bigquery, table_uri

    outputs = {"train": train, "eval": eval, "test": test}
    result = split_in_bigquery(table_uri(table.metadata), label,
                               {name: artifact.uri for name, artifact in outputs.items()},
                               eval_fraction=eval_fraction, test_fraction=test_fraction, project=project,
                               location=location)
    for name, artifact in outputs.items():
        artifact.metadata.update(result.metadata(name))
    return result.label


@component("core")
def read_bigquery(data_path: str, rows: Output[Dataset], data_fingerprint: str = ""):
    """Reads a BigQuery table or query through the client into a CSV Dataset (modest tables).

    Every row passes through this task: use it for rows to score or a baseline, up to a
    few GB. For training on large tables, compile with ``--data-source bigquery``
    (:func:`split_bigquery`).

    Args:
        data_path: ``bq://project.dataset.table``, or a query in BigQuery SQL.
        rows: The rows, CSV with a header.
        data_fingerprint: The source's fingerprint from ``fingerprint_data``: the
            cache key follows the table's content.
    """
    from pathlib import Path

    from kfp_mlops.components.core.tables import read_checked

    frame, digest = read_checked(data_path)
    Path(rows.path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(rows.path, index=False)
    rows.metadata.update({"rows": int(len(frame)), "source": data_path, "format": "csv",
                          "source_sha256": digest, "fingerprint": data_fingerprint})
