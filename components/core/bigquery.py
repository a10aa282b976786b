"""BigQuery as a data source: ``bq://project.dataset.table``, or a query in BigQuery SQL.

Locally (and on Kubeflow) the google-cloud-bigquery client reads the table or the
query's result into Arrow, and the rest of the pipeline runs on it as on a file. On
Vertex AI the heavy steps stay in BigQuery (:mod:`kfp_mlops.components.data.bigquery_split`).

Every failure is a one-line :class:`InputError` that names the field (``data_path``
unless told otherwise): a malformed URI, a table or dataset BigQuery does not know
(404), access refused (401/403), a query BigQuery rejects (400), or no credentials.
Set ``KFP_MLOPS_BIGQUERY_API_ENDPOINT`` to talk to a stand-in API (tests), with
anonymous credentials.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Iterator

from kfp_mlops.components.core.errors import InputError

logger = logging.getLogger(__name__)

SCHEME = "bq://"
ENDPOINT_ENV = "KFP_MLOPS_BIGQUERY_API_ENDPOINT"
# Project ids (optionally "domain.com:project"), dataset ids and table ids, as BigQuery names them.
_PROJECT = r"(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]"
_DATASET = r"[A-Za-z0-9_]{1,1024}"
_TABLE = r"[\w\- $]{1,1024}"
PREFLIGHT_ROWS = 1000  # rows of a table the pre-flight reads (tabledata.list is free)
_QUERY_START = re.compile(r"^\s*(\(\s*)*(SELECT|WITH)\b", re.IGNORECASE)


@dataclass(frozen=True)
class BigQuerySource:
    """A BigQuery table (``project.dataset.table``) or a query; exactly one is set."""

    table: str = ""
    query: str = ""

    @property
    def project(self) -> str:
        """The table's project; empty for a query."""
        return self.table.rsplit(".", 2)[0] if self.table else ""

    def __str__(self) -> str:
        if self.table:
            return SCHEME + self.table
        text = " ".join(self.query.split())
        return f"query {text[:60]!r}" + ("..." if len(text) > 60 else "")


def is_bigquery(text: str) -> bool:
    """Whether ``text`` names a BigQuery source: a ``bq://`` URI or a ``SELECT``/``WITH`` query."""
    return isinstance(text, str) and (text.startswith(SCHEME) or bool(_QUERY_START.match(text)))


def parse_source(text: str, field: str = "data_path") -> BigQuerySource:
    """Parses ``bq://project.dataset.table`` or a query.

    Raises:
        InputError: For a malformed URI, naming ``field`` and the part at fault.
    """
    if not text.startswith(SCHEME):
        if _QUERY_START.match(text):
            return BigQuerySource(query=text.strip())
        raise InputError(f"{field}: {text[:80]!r} is neither a bq://PROJECT.DATASET.TABLE URI nor a SELECT query")
    body = text[len(SCHEME):]
    parts = body.rsplit(".", 2)  # a domain-scoped project ("example.com:project") holds dots itself
    usage = f"{field}: bad BigQuery URI {text!r}: expected bq://PROJECT.DATASET.TABLE"
    if len(parts) != 3 or not all(parts):
        raise InputError(f"{usage} (found {len([p for p in parts if p])} of the 3 parts)")
    project, dataset, table = parts
    for what, value, pattern in (("project", project, _PROJECT), ("dataset", dataset, _DATASET),
                                 ("table", table, _TABLE)):
        if not re.fullmatch(pattern, value):
            raise InputError(f"{usage} (the {what} {value!r} is not a valid BigQuery {what} id)")
    return BigQuerySource(table=f"{project}.{dataset}.{table}")


def make_client(project: str = "", location: str = "", api_endpoint: str = ""):
    """A ``google.cloud.bigquery.Client``; with an endpoint (or ``KFP_MLOPS_BIGQUERY_API_ENDPOINT``), anonymous.

    Raises:
        InputError: When no project is known or no credentials are found.
    """
    from google.auth import exceptions as auth_exceptions
    from google.cloud import bigquery

    endpoint = api_endpoint or os.environ.get(ENDPOINT_ENV, "")
    options: dict[str, Any] = {"project": project or None, "location": location or None}
    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        options.update(credentials=AnonymousCredentials(), client_options={"api_endpoint": endpoint})
        options["project"] = options["project"] or "anonymous"
    try:
        return bigquery.Client(**options)
    except auth_exceptions.DefaultCredentialsError:
        raise InputError("no Google Cloud credentials for BigQuery: run `gcloud auth application-default login` "
                         "or set GOOGLE_APPLICATION_CREDENTIALS") from None
    except OSError as error:  # no project could be determined
        raise InputError(f"no Google Cloud project for BigQuery: pass project (or set GOOGLE_CLOUD_PROJECT): "
                         f"{str(error).splitlines()[0]}") from None


@contextlib.contextmanager
def api_errors(source: BigQuerySource, field: str = "data_path") -> Iterator[None]:
    """Turns BigQuery API errors into one-line :class:`InputError` s naming ``field`` and the source."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth_exceptions

    try:
        yield
    except api.NotFound as error:
        raise InputError(f"{field}: BigQuery has no {_resource(error, source)}: {_reason(error)}") from None
    except (api.Unauthorized, api.Forbidden) as error:
        raise InputError(f"{field}: BigQuery refused access to {source} (HTTP {error.code}): {_reason(error)}; "
                         "check the credentials' roles (bigquery.dataViewer, bigquery.jobUser)") from None
    except api.BadRequest as error:
        raise InputError(f"{field}: BigQuery rejected {source}: {_reason(error)}") from None
    except (auth_exceptions.RefreshError, auth_exceptions.InvalidOperation) as error:  # a 401, and no refresh
        raise InputError(f"{field}: BigQuery refused the credentials for {source} (HTTP 401): {_reason(error)}; "
                         "run `gcloud auth application-default login` or check GOOGLE_APPLICATION_CREDENTIALS"
                         ) from None
    except auth_exceptions.DefaultCredentialsError:
        raise InputError("no Google Cloud credentials for BigQuery: run `gcloud auth application-default login` "
                         "or set GOOGLE_APPLICATION_CREDENTIALS") from None


def _reason(error) -> str:
    """BigQuery's own message (``errors[0].message``), without the request line the client prefixes."""
    details = getattr(error, "errors", None) or []
    message = (details[0].get("message") if details and isinstance(details[0], dict) else "") or \
        re.sub(r"^[A-Z]+ \S+: ", "", str(getattr(error, "message", "") or error))
    return " ".join(str(message).split())[:300]


def _resource(error, source: BigQuerySource) -> str:
    message = _reason(error)
    if "Dataset" in message and "Table" not in message:
        return f"dataset for {source}"
    return f"table {source}" if source.table else f"table that the query reads ({source})"


def columns_of(client, source: BigQuerySource, field: str = "data_path") -> list[tuple[str, str]]:
    """The source's ``(name, type)`` columns: the table's schema, or a dry run's for a query (free, scans nothing)."""
    with api_errors(source, field):
        if source.table:
            schema = client.get_table(source.table).schema
        else:
            from google.cloud import bigquery

            job = client.query(source.query, job_config=bigquery.QueryJobConfig(dry_run=True, use_query_cache=False))
            schema = job.schema or []
    nested = [f.name for f in schema if f.field_type in ("RECORD", "STRUCT") or f.mode == "REPEATED"]
    if nested:
        raise InputError(f"{field}: {source} has nested or repeated columns ({', '.join(nested)}); "
                         "select flat columns in a query")
    return [(field.name, field.field_type) for field in schema]


def read_arrow(source: BigQuerySource, client, max_rows: int | None = None, field: str = "data_path"):
    """Reads the table (tabledata.list) or runs the query, into a ``pyarrow.Table``.

    Uses the BigQuery Storage API when ``google-cloud-bigquery-storage`` is installed
    (and no stand-in endpoint is set); the REST API otherwise.
    """
    storage = not os.environ.get(ENDPOINT_ENV) and _has_storage_client()
    with api_errors(source, field):
        if source.table:
            rows = client.list_rows(source.table, max_results=max_rows)
        else:
            rows = client.query(source.query).result(max_results=max_rows)
        return rows.to_arrow(create_bqstorage_client=storage, progress_bar_type=None)


def _has_storage_client() -> bool:
    try:
        import google.cloud.bigquery_storage  # noqa: F401
    except ImportError:
        return False
    return True


def read_frame(text: str, project: str = "", field: str = "data_path"):
    """Reads a BigQuery source into pandas; returns ``(frame, fingerprint)``.

    Raises:
        InputError: For a bad URI, a missing table, refused access, a rejected query,
            or a result with fewer than two columns or no rows.
    """
    source = parse_source(text, field)
    client = make_client(project or source.project)
    table = read_arrow(source, client, field=field)
    logger.info("read %d rows x %d columns from %s", table.num_rows, table.num_columns, source)
    if table.num_columns < 2:
        raise InputError(f"{field}: {source} has {table.num_columns} column; expected features and a label")
    if table.num_rows == 0:
        raise InputError(f"{field}: {source} has no rows")
    frame = table.to_pandas()
    digest = hashlib.sha256(table.schema.to_string().encode())
    for batch in table.to_batches():  # content hash of what was read: the run's outputs belong to it
        for column in batch.columns:
            for buffer in column.buffers():
                if buffer is not None:
                    digest.update(memoryview(buffer))
    return frame, digest.hexdigest()


def fingerprint(text: str, project: str = "", field: str = "data_path") -> str:
    """A fingerprint that changes when the data does, without reading the rows.

    A table: ``bq:<project.dataset.table>:<etag>:<last modified ms>:<rows>``. A query: the
    SHA-256 of its text and of each table it reads (from a free dry run), as
    ``bq-query-sha256:<hex>``.
    """
    source = parse_source(text, field)
    client = make_client(project or source.project)
    with api_errors(source, field):
        if source.table:
            table = client.get_table(source.table)
            return f"bq:{source.table}:{table.etag}:{_millis(table.modified)}:{table.num_rows}"
        from google.cloud import bigquery

        job = client.query(source.query, job_config=bigquery.QueryJobConfig(dry_run=True, use_query_cache=False))
        digest = hashlib.sha256(source.query.encode())
        for ref in sorted(job.referenced_tables, key=lambda r: (r.project, r.dataset_id, r.table_id)):
            table = client.get_table(ref)
            digest.update(f"\0{ref.project}.{ref.dataset_id}.{ref.table_id}:{table.etag}:"
                          f"{_millis(table.modified)}".encode())
    return f"bq-query-sha256:{digest.hexdigest()}"


def _millis(moment) -> int:
    return int(moment.timestamp() * 1000) if moment is not None else 0


def preflight(text: str, label: str = "", field: str = "data_path"):
    """The pre-flight of a BigQuery source: its schema, and for a table a free sample (tabledata.list).

    A query is only dry-run (free): its sample would cost a full scan, so the label's
    values are checked by the ingestion task.

    Returns:
        A :class:`.data_contract.Preflight`.

    Raises:
        InputError: For a bad URI, a missing table, refused access, a rejected query,
            fewer than two columns, or a missing label column.
    """
    from kfp_mlops.components.core.data_contract import Preflight, check_values

    source = parse_source(text, field)
    client = make_client(source.project)
    names = [name for name, _ in columns_of(client, source, field)]
    if len(names) < 2:
        raise InputError(f"{field}: {source} has {len(names)} column; expected features and a label")
    if label and label not in names:
        raise InputError(f"label column {label!r} not found in {source}; columns are: {', '.join(names)}")
    if not source.table:
        return Preflight(columns=names, sample_rows=0, label_values=0, complete=False)
    sample = read_arrow(source, client, max_rows=PREFLIGHT_ROWS, field=field).to_pandas()
    check_values(sample, str(source))
    labelled = int(sample[label].notna().sum()) if label else len(sample)
    return Preflight(columns=names, sample_rows=len(sample), label_values=labelled, complete=False,
                     labels=sample[label].dropna() if label else None)
