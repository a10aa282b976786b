"""Serving rows from a Vertex AI endpoint's request-response logging table in BigQuery.

A Vertex AI endpoint created with request-response logging
(``predict_request_response_logging_config``) writes a sample of its traffic to
``bq://PROJECT.logging_<endpoint>_<id>.request_response_logging``, one row per request
with the documented columns:

| column | type |
|---|---|
| ``endpoint`` | STRING |
| ``deployed_model_id`` | STRING |
| ``logging_time`` | TIMESTAMP |
| ``request_id`` | NUMERIC |
| ``request_payload`` | STRING, REPEATED: the request's instances, each a JSON string |
| ``response_payload`` | STRING, REPEATED: the predictions, each a JSON string |

The time window is applied in BigQuery (a parameterized query on ``logging_time``), so
only the window's rows leave the warehouse.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any

import pandas as pd

from kfp_mlops.components.core.errors import InputError

logger = logging.getLogger(__name__)

TABLE_URI = re.compile(r"^bq://(?P<project>[a-z][a-z0-9-]{4,61}[a-z0-9])\.(?P<dataset>\w+)\.(?P<table>[\w$-]+)$")
QUERY = """
SELECT logging_time, CAST(request_id AS STRING) AS request_id, deployed_model_id, endpoint,
       request_payload, response_payload
FROM `{table}`
WHERE (@since IS NULL OR logging_time >= @since) AND (@until IS NULL OR logging_time < @until)
ORDER BY logging_time
"""


def parse_table_uri(uri: str) -> tuple[str, str]:
    """Returns ``(project, "project.dataset.table")`` of a ``bq://PROJECT.DATASET.TABLE`` URI.

    Raises:
        InputError: Naming the URI and the expected form.
    """
    match = TABLE_URI.match(uri)
    if not match:
        raise InputError(f"{uri}: expected bq://PROJECT.DATASET.TABLE")
    return match["project"], f"{match['project']}.{match['dataset']}.{match['table']}"


def _stamp(value: float | str | None) -> Any:
    from kfp_mlops.components.monitoring.serving_log import parse_time

    stamp = parse_time(value)
    return None if stamp is None else stamp.floor("us").to_pydatetime()


def _items(payloads: list[str], key: str) -> list[Any]:
    """A logged request's instances (``key="instances"``) or a response's predictions (``"predictions"``).

    Each element is one item, or a whole body such as ``{"instances": [...]}``.
    """
    items: list[Any] = []
    for text in payloads or []:
        value = json.loads(text)
        items.extend(value[key] if isinstance(value, dict) and key in value else [value])
    return items


def read_request_response_log(uri: str, since: float | str | None = None, until: float | str | None = None,
                              client: Any = None) -> pd.DataFrame:
    """Reads the served feature rows of a Vertex AI request-response logging table.

    Args:
        uri: ``bq://PROJECT.DATASET.TABLE``.
        since: Keep requests logged at or after this time (UNIX seconds or ISO 8601).
        until: Keep requests logged before this time.
        client: A ``google.cloud.bigquery.Client``; default: one for the table's project.

    Returns:
        One row per instance: its features (object instances; list instances become
        ``f0``, ``f1``...), then ``prediction``, ``model_version`` (the deployed model id),
        ``model`` (the endpoint), ``request_id`` and ``ts``.

    Raises:
        InputError: For a bad URI, an unreadable payload, or no rows in the window.
    """
    from google.cloud import bigquery

    project, table = parse_table_uri(uri)
    client = client or bigquery.Client(project=project)
    config = bigquery.QueryJobConfig(query_parameters=[
        bigquery.ScalarQueryParameter("since", "TIMESTAMP", _stamp(since)),
        bigquery.ScalarQueryParameter("until", "TIMESTAMP", _stamp(until)),
    ])
    rows = client.query_and_wait(QUERY.format(table=table), job_config=config)
    records = []
    for row in rows:
        try:
            instances = _items(row["request_payload"], "instances")
            predictions = _items(row["response_payload"], "predictions")
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise InputError(f"{uri}: request {row['request_id']} has a payload that is not JSON ({error})") from None
        if predictions and len(predictions) != len(instances):
            raise InputError(f"{uri}: request {row['request_id']} has {len(instances)} instances "
                             f"but {len(predictions)} predictions")
        for index, instance in enumerate(instances):
            features = instance if isinstance(instance, dict) else {f"f{i}": v for i, v in enumerate(instance)}
            records.append({**features, "prediction": predictions[index] if predictions else None,
                            "model_version": row["deployed_model_id"], "model": row["endpoint"],
                            "request_id": row["request_id"], "ts": pd.Timestamp(row["logging_time"])})
    if not records:
        raise InputError(f"no served rows in {uri}" + (f" between {since or '-'} and {until or '-'}"
                                                        if since or until else ""))
    logger.info("read %d served rows from %s", len(records), uri)
    return pd.DataFrame.from_records(records)
