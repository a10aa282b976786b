"""The deterministic split, run inside BigQuery: query jobs, no rows through this process.

Four query jobs, all defined in :mod:`.queries`:

1. a summary (rows, distinct labels per split, unlabelled rows) that decides the same
   checks as local ingestion before anything is written;
2. one ``EXPORT DATA`` job per split, writing its labelled rows as Parquet shards
   (``<folder>/part-*.parquet``) to Cloud Storage, where the next steps read them.

Every job carries the label ``kfp-mlops-step`` (``split-summary``, ``split-train`` ...)
for cost attribution.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from kfp_mlops.components.core.bigquery import api_errors, columns_of, make_client, parse_source
from kfp_mlops.components.core.data_contract import check_rows
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.data.queries import (
    SPLITS,
    UNLABELLED,
    Column,
    export_query,
    render,
    source_tree,
    split_rows_query,
    split_summary_query,
)

logger = logging.getLogger(__name__)
SHARD_PATTERN = "part-*.parquet"


@dataclass
class BigQuerySplit:
    """What :func:`split_in_bigquery` wrote.

    Attributes:
        source: The source, as the user gave it (``bq://...`` or the query).
        label: The label column.
        columns: The source's columns, in order.
        rows: Labelled rows per split.
        dropped_unlabelled: Rows with no label (left out of every split).
        uris: The Parquet shards' URI pattern per split.
        job_ids: BigQuery job id per step (``summary``, ``train``, ``eval``, ``test``).
    """

    source: str
    label: str
    columns: list[str]
    rows: dict[str, int]
    dropped_unlabelled: int
    uris: dict[str, str]
    job_ids: dict[str, str] = field(default_factory=dict)

    def metadata(self, split: str) -> dict:
        """One split's Dataset metadata: label, rows, source, format, shards and its export job."""
        return {"label": self.label, "rows": self.rows[split], "source": self.source, "format": "parquet",
                "shards": self.uris[split], "bigquery_job_id": self.job_ids[split]}


def table_uri(metadata: dict) -> str:
    """``bq://project.dataset.table`` from a ``google.BQTable`` artifact's metadata.

    Raises:
        InputError: Naming the metadata keys that are missing.
    """
    keys = ("projectId", "datasetId", "tableId")
    missing = [key for key in keys if not metadata.get(key)]
    if missing:
        raise InputError(f"table: the google.BQTable artifact has no {', '.join(missing)} in its metadata")
    return "bq://" + ".".join(str(metadata[key]) for key in keys)


def shard_uri(folder: str, split: str) -> str:
    """``<folder>/part-*.parquet`` for a ``gs://`` folder.

    Raises:
        InputError: For a folder outside Cloud Storage (BigQuery exports only there).
    """
    if not folder.startswith("gs://"):
        raise InputError(f"output {split}: BigQuery exports to Cloud Storage only, got {folder!r}: "
                         "run the pipeline with a gs:// pipeline root")
    return f"{folder.rstrip('/')}/{SHARD_PATTERN}"


def split_in_bigquery(
    data_path: str,
    label: str,
    output_folders: dict[str, str],
    eval_fraction: float = 0.15,
    test_fraction: float = 0.15,
    project: str = "",
    location: str = "",
    client=None,
) -> BigQuerySplit:
    """Checks and splits a BigQuery table or query, exporting each split as Parquet shards.

    Args:
        data_path: ``bq://project.dataset.table`` or a query in BigQuery SQL.
        label: The label column.
        output_folders: A ``gs://`` folder per split (``train``, ``eval``, ``test``).
        eval_fraction: Share of rows for ``eval``.
        test_fraction: Share of rows for ``test``.
        project: The project that runs (and pays for) the jobs; default: the table's.
        location: The jobs' location (e.g. ``US``); default: BigQuery infers it.
        client: A ``google.cloud.bigquery.Client`` (tests); default: one for ``project``.

    Returns:
        Rows per split, the shard URIs and the job ids.

    Raises:
        InputError: For a bad source, a missing label column, a label with a single
            value or none, too few rows, an empty split, or a non-``gs://`` output.
    """
    from google.cloud import bigquery

    source = parse_source(data_path)
    if not label:
        raise InputError("label: no label column given: pass the name of the column to predict")
    uris = {name: shard_uri(output_folders[name], name) for name in SPLITS}
    client = client or make_client(project or source.project, location)
    columns = [Column(name, kind) for name, kind in columns_of(client, source)]
    names = [column.name for column in columns]
    if label not in names:
        raise InputError(f"label column {label!r} not found in {source}; columns are: {', '.join(names)}")
    if len(names) < 2:
        raise InputError(f"{source} has {len(names)} column; expected features and a label")
    tree = source_tree(table=source.table, query=source.query)
    job_ids = {}

    def run(sql: str, step: str):
        config = bigquery.QueryJobConfig(labels={"kfp-mlops-step": step})
        with api_errors(source):
            job = client.query(sql, job_config=config, location=location or None)
            result = job.result()
        job_ids[step.removeprefix("split-")] = job.job_id
        logger.info("BigQuery job %s (%s) done", job.job_id, step)
        return result

    summary = {row["split"]: row for row in run(
        render(split_summary_query(tree, columns, label, eval_fraction, test_fraction), "bigquery"), "split-summary")}
    _check(summary, str(source), label, {"train": 1.0, "eval": eval_fraction, "test": test_fraction})
    for name in SPLITS:
        select = split_rows_query(tree, columns, label, name, eval_fraction, test_fraction)
        run(render(export_query(select, uris[name]), "bigquery"), f"split-{name}")
    rows = {name: int(summary[name]["row_count"]) if name in summary else 0 for name in SPLITS}
    unlabelled = int(summary[UNLABELLED]["row_count"]) if UNLABELLED in summary else 0
    logger.info("%s: %d rows -> %s%s", source, sum(rows.values()), ", ".join(f"{k}={v}" for k, v in rows.items()),
                f" (dropped {unlabelled} rows with no label)" if unlabelled else "")
    return BigQuerySplit(source=data_path if source.table else source.query, label=label, columns=names, rows=rows,
                         dropped_unlabelled=unlabelled, uris=uris, job_ids=job_ids)


def _check(summary: dict, source: str, label: str, fractions: dict[str, float]) -> None:
    """The checks of local ingestion, from the summary query's rows."""
    labelled = {name: int(summary[name]["row_count"]) for name in SPLITS if name in summary}
    total = sum(labelled.values())
    if total == 0:
        raise InputError(f"label column {label!r} in {source} has no values")
    values = {summary[name][key] for name in labelled for key in ("label_min", "label_max")}
    if max(int(summary[name]["label_count"]) for name in labelled) < 2 and len(values) < 2:
        raise InputError(f"label column {label!r} in {source} has a single value ({values.pop()!r}) in all "
                         f"{total} labelled rows: a model needs two or more classes or values to learn")
    check_rows(total, source)
    for name in SPLITS:
        if not labelled.get(name) and fractions[name] > 0:
            raise InputError(f"the {name} split of {source} is empty: {total} labelled rows are too few "
                             f"for a {name} share of {fractions[name]:.0%}")
