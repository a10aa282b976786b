"""A stand-in BigQuery REST API on loopback, answering the real google-cloud-bigquery client.

Tables are pandas frames held in DuckDB. Queries arrive as BigQuery SQL; the stand-in
transpiles them with sqlglot (the same rendering the library uses for DuckDB) and runs
them, so the answers are computed, not canned. ``EXPORT DATA`` writes Parquet shards
under ``gcs_root/<bucket>/<path>``. Errors have BigQuery's JSON shape.

Routes: tables.get, tabledata.list (paged), jobs.insert (query, dry run, EXPORT DATA),
jobs.get, jobs.getQueryResults.
"""
from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import duckdb
import pandas as pd
import sqlglot
from sqlglot import exp

from kfp_mlops.components.data.queries import DIALECTS
from tests.support.loopback import LoopbackJsonServer

_TYPES = {"b": "BOOLEAN", "i": "INTEGER", "u": "INTEGER", "f": "FLOAT"}


def bq_type(series: pd.Series) -> str:
    """The BigQuery (legacy) type name of a pandas column."""
    return _TYPES.get(series.dtype.kind, "STRING")


def error(code: int, reason: str, message: str) -> tuple[int, dict]:
    """BigQuery's error body."""
    status = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}[code]
    return code, {"error": {"code": code, "message": message, "status": status,
                            "errors": [{"message": message, "domain": "global", "reason": reason}]}}


def _cell(value) -> dict:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return {"v": None}
    if isinstance(value, bool):
        return {"v": "true" if value else "false"}
    if isinstance(value, float):
        return {"v": repr(value)}
    return {"v": str(value)}


class FakeBigQuery(LoopbackJsonServer):
    """BigQuery's REST API over DuckDB; ``tables`` maps ``project.dataset.table`` to a frame.

    Attributes:
        page_size: Rows per tabledata.list page (the client pages through them).
        denied: Tables whose reads answer 403.
        unauthenticated: Answer every request with 401.
    """

    def __init__(self, tables: dict[str, pd.DataFrame], gcs_root: Path | None = None, page_size: int = 1000):
        super().__init__()
        self.tables = dict(tables)
        self.gcs_root = gcs_root
        self.page_size = page_size
        self.denied: set[str] = set()
        self.unauthenticated = False
        self.jobs: dict[str, dict] = {}
        self.query_strings: list[tuple[str, dict]] = []  # (path, query parameters) of every request
        self.etags: dict[str, str] = {name: "etag-1" for name in tables}
        self._ids = itertools.count(1)
        self.db = duckdb.connect()
        for name, frame in self.tables.items():
            self._load(name, frame)

    def _load(self, name: str, frame: pd.DataFrame) -> None:
        self.db.register("incoming", frame)
        self.db.execute(f'CREATE OR REPLACE TABLE "{self._local(name)}" AS SELECT * FROM incoming')
        self.db.unregister("incoming")

    @staticmethod
    def _local(name: str) -> str:
        return name.replace(".", "__").replace(":", "_")

    def replace_table(self, name: str, frame: pd.DataFrame) -> None:
        """Overwrites a table (a new etag, as BigQuery gives it)."""
        self.tables[name] = frame
        self.etags[name] = f"etag-{int(self.etags.get(name, 'etag-0').split('-')[1]) + 1}"
        self._load(name, frame)

    # -- routing ------------------------------------------------------------------------------------

    def route(self, method, path, query, body):
        self.query_strings.append((path, query))
        if self.unauthenticated:
            return error(401, "unauthorized", "Request is missing required authentication credential.")
        match = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/datasets/([^/]+)/tables/([^/]+)(/data)?", path)
        if match and method == "GET":
            name = ".".join(match.groups()[:3])
            if name not in self.tables:
                if not any(t.rsplit(".", 1)[0] == name.rsplit(".", 1)[0] for t in self.tables):
                    return error(404, "notFound", f"Not found: Dataset {name.rsplit('.', 1)[0].replace('.', ':')}")
                return error(404, "notFound", f"Not found: Table {name.replace('.', ':', 1)}")
            if name in self.denied:
                return error(403, "accessDenied", f"Access Denied: Table {name.replace('.', ':', 1)}: User does "
                                                  "not have permission to query table.")
            return self._rows(name, query) if match.group(4) else (200, self._table(name))
        match = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/jobs", path)
        if match and method == "POST":
            return self._insert(match.group(1), body)
        match = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/(jobs|queries)/([^/]+)", path)
        if match and method == "GET":
            job = self.jobs.get(match.group(3))
            if job is None:
                return error(404, "notFound", f"Not found: Job {match.group(1)}:{match.group(3)}")
            return (200, job["resource"]) if match.group(2) == "jobs" else self._results(job, query)
        return error(404, "notFound", f"no route for {method} {path}")

    def _table(self, name: str) -> dict:
        project, dataset, table = name.split(".")
        frame = self.tables[name]
        return {
            "kind": "bigquery#table", "id": f"{project}:{dataset}.{table}", "etag": self.etags[name],
            "tableReference": {"projectId": project, "datasetId": dataset, "tableId": table},
            "schema": self._schema(frame), "numRows": str(len(frame)), "type": "TABLE", "location": "US",
            "creationTime": "1700000000000", "lastModifiedTime": str(1700000000000 + int(self.etags[name][5:])),
        }

    @staticmethod
    def _schema(frame: pd.DataFrame) -> dict:
        return {"fields": [{"name": str(c), "type": bq_type(frame[c]), "mode": "NULLABLE"} for c in frame.columns]}

    def _page(self, frame: pd.DataFrame, query: dict) -> dict:
        start = int(query.get("pageToken", ["0"])[0])
        size = int(query.get("maxResults", [self.page_size])[0])
        rows = [{"f": [_cell(v) for v in row]} for row in frame.iloc[start:start + size].itertuples(index=False)]
        answer = {"totalRows": str(len(frame)), "rows": rows}
        if start + size < len(frame):
            answer["pageToken"] = str(start + size)
        return answer

    def _rows(self, name: str, query: dict) -> tuple[int, dict]:
        query = {**query, "maxResults": [min(int(query.get("maxResults", [self.page_size])[0]), self.page_size)]}
        return 200, {"kind": "bigquery#tableDataList", "etag": self.etags[name], **self._page(self.tables[name], query)}

    # -- jobs ---------------------------------------------------------------------------------------

    def _duckdb(self, tree: exp.Expression) -> str:
        def local(node):
            if isinstance(node, exp.Table) and node.args.get("catalog"):
                name = f"{node.catalog}.{node.db}.{node.name}"
                return exp.to_table(f'"{self._local(name)}"', dialect="duckdb")
            return node
        return tree.transform(local).sql(dialect=DIALECTS["duckdb"])

    def _referenced(self, tree: exp.Expression) -> list[str]:
        return sorted({f"{t.catalog}.{t.db}.{t.name}" for t in tree.find_all(exp.Table) if t.args.get("catalog")})

    def _insert(self, project: str, body: dict) -> tuple[int, dict]:
        config = body.get("configuration", {})
        sql = config.get("query", {}).get("query", "")
        try:
            tree = sqlglot.parse_one(sql, read="bigquery")
        except sqlglot.errors.ParseError as parse_error:
            return error(400, "invalidQuery", f"Syntax error: {str(parse_error).splitlines()[0]}")
        for name in self._referenced(tree):
            if name not in self.tables:
                return error(404, "notFound", f"Not found: Table {name.replace('.', ':', 1)} was not found in "
                                              "location US")
            if name in self.denied:
                return error(403, "accessDenied", f"Access Denied: Table {name.replace('.', ':', 1)}")
        reference = dict(body.get("jobReference") or {})
        reference.setdefault("projectId", project)
        reference.setdefault("jobId", f"job_{next(self._ids)}")
        reference.setdefault("location", "US")
        select = tree.this if isinstance(tree, exp.Export) else tree
        sql = self._duckdb(select)
        try:  # an engine error is the query's fault: a 400, never a 5xx (which the client retries for minutes)
            frame = self.db.execute(f"SELECT * FROM ({sql}) LIMIT 0" if config.get("dryRun") else sql).df()
        except duckdb.Error as engine_error:
            return error(400, "invalidQuery", str(engine_error).splitlines()[0])
        statistics = {"creationTime": "1700000000000", "query": {
            "totalBytesProcessed": "0", "statementType": "EXPORT_DATA" if isinstance(tree, exp.Export) else "SELECT",
            "referencedTables": [dict(zip(("projectId", "datasetId", "tableId"), n.split("."), strict=True)) for n in
                                 self._referenced(tree)]}}
        if config.get("dryRun"):
            statistics["query"]["schema"] = self._schema(frame)
        elif isinstance(tree, exp.Export):
            statistics["query"]["exportDataStatistics"] = {"rowCount": str(len(frame)), "fileCount": "1"}
            self._export(tree, frame)
        resource = {"kind": "bigquery#job", "id": f"{project}:US.{reference['jobId']}", "jobReference": reference,
                    "configuration": config, "status": {"state": "DONE"}, "statistics": statistics}
        self.jobs[reference["jobId"]] = {"resource": resource, "frame": frame, "dry": bool(config.get("dryRun"))}
        return 200, resource

    def _export(self, tree: exp.Export, frame: pd.DataFrame) -> None:
        options = {p.this.name.lower() if isinstance(p, exp.Property) else "format": p.args.get("value", p.this).name
                   for p in tree.args["options"].expressions}
        bucket, _, prefix = options["uri"][len("gs://"):].partition("/")
        target = self.gcs_root / bucket / prefix.replace("*", "000000000000")
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(target, index=False)

    def _results(self, job: dict, query: dict) -> tuple[int, dict]:
        resource = job["resource"]
        answer = {"kind": "bigquery#getQueryResultsResponse", "jobReference": resource["jobReference"],
                  "jobComplete": True, "schema": self._schema(job["frame"]), "cacheHit": False,
                  "totalBytesProcessed": "0"}
        if resource["statistics"]["query"]["statementType"] == "SELECT":  # one page: no destination table to page
            answer.update(self._page(job["frame"], {**query, "maxResults": [len(job["frame"]) or 1]}))
        else:
            answer["totalRows"] = "0"
        return 200, answer
