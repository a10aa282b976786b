"""The embedded engine: DuckDB runs the split and statistics queries out of core.

DuckDB scans CSV and Parquet (local, or ``gs://``/``s3://`` through fsspec) in
streaming fashion, spilling to a temporary folder beyond ``memory_limit``, so a
table larger than memory is split and profiled in bounded memory. The queries
themselves live in :mod:`.queries`, which also renders them for BigQuery.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from kfp_mlops.components.core import queries as Q
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.sources import Source

logger = logging.getLogger(__name__)

MEMORY_ENV, MEMORY_LIMIT = "KFP_MLOPS_DUCKDB_MEMORY", "1GB"  # read when an engine starts, never at import
SHARD_BYTES = 256 << 20  # Parquet shard size of a split: a big split becomes a folder of shards
ROW_GROUP_ROWS = 122_880
# What pandas reads as missing, so a column of numbers with "NA" in it stays numeric here too.
NULL_STRINGS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
                "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
           "UBIGINT", "FLOAT", "DOUBLE", "BOOLEAN")


def _sql_string(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


@dataclass
class Column:
    """A column as the engine typed it."""

    name: str
    type: str  # DuckDB's type name

    @property
    def numeric(self) -> bool:
        """Numbers and booleans (statistics treat booleans as INT 0/1)."""
        return self.type.startswith(NUMERIC) or self.type.startswith("DECIMAL")


@dataclass
class SplitResult:
    """What :meth:`DuckDBEngine.split` wrote."""

    rows: dict[str, int]
    columns: list[str]
    dropped_unlabelled: int
    column_types: dict[str, str] = field(default_factory=dict)


class DuckDBEngine:
    """One DuckDB connection, bounded in memory and threads.

    Args:
        memory_limit: DuckDB's ``memory_limit``; work beyond it spills to disk. None: ``$KFP_MLOPS_DUCKDB_MEMORY``,
            else 1GB.
        threads: Worker threads; None lets DuckDB use every core.
        temp_directory: Where spills go; None uses a fresh temporary folder.
    """

    def __init__(self, memory_limit: str | None = None, threads: int | None = None,
                 temp_directory: str | None = None):
        import duckdb

        memory_limit = memory_limit or os.environ.get(MEMORY_ENV, MEMORY_LIMIT)
        self.duckdb = duckdb
        self.con = duckdb.connect(config={"memory_limit": memory_limit})
        self._temp = tempfile.mkdtemp(prefix="kfp-mlops-duckdb-") if temp_directory is None else None
        self.con.execute(f"SET temp_directory = {_sql_string(temp_directory or str(self._temp))}")
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute("SET preserve_insertion_order = true")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self._filesystems: set[str] = set()

    def close(self) -> None:
        """Closes the connection and removes its spill folder."""
        self.con.close()
        if self._temp:
            shutil.rmtree(self._temp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _register(self, source: Source) -> None:
        if source.remote and source.protocol not in self._filesystems:
            from kfp_mlops.components.core.sources import filesystem

            self.con.register_filesystem(filesystem(source.uri)[0])
            self._filesystems.add(source.protocol)

    def scan(self, source: Source, sample_all: bool = False) -> str:
        """The SQL table expression that reads ``source`` (``read_csv(...)`` or ``read_parquet([...])``).

        A CSV's columns are typed as pandas types them: booleans, integers, floats
        and text (a date stays text; the schema detects its format).
        """
        self._register(source)
        files = "[" + ", ".join(_sql_string(f) for f in source.files) + "]"
        if source.kind == "parquet":
            return f"read_parquet({files})"
        sample = ", sample_size = -1" if sample_all else ""
        nulls = "[" + ", ".join(_sql_string(n) for n in NULL_STRINGS) + "]"
        return (f"read_csv({files}, header = true, delim = ',', quote = '\"', escape = '\"', "
                f"auto_detect = true, strict_mode = true, nullstr = {nulls}, "
                f"auto_type_candidates = ['BOOLEAN', 'BIGINT', 'DOUBLE', 'VARCHAR']{sample})")

    def columns(self, scan: str) -> list[Column]:
        """The columns of a table expression, typed by the engine."""
        return [Column(name, kind) for name, kind, *_ in self.con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]

    def query(self, sql: str) -> list[tuple]:
        """Runs a query; returns all its rows."""
        return self.con.execute(sql).fetchall()

    def arrow(self, sql: str) -> pa.Table:
        """Runs a query; returns its rows as an Arrow table."""
        return self.con.sql(sql).to_arrow_table()

    def sample(self, source: Source, rows: int, seed: int = 0) -> pa.Table:
        """A uniform sample of ``rows`` rows of ``source`` (reservoir, repeatable: one thread)."""
        threads = self.query("SELECT current_setting('threads')")[0][0]
        self.con.execute("SET threads = 1")
        try:
            return self.arrow(f"SELECT * FROM {self.scan(source)} USING SAMPLE reservoir({int(rows)} ROWS) "
                              f"REPEATABLE ({int(seed)})")
        finally:
            self.con.execute(f"SET threads = {threads}")

    def split(self, source: Source, label: str, outputs: dict[str, str], eval_fraction: float,
              test_fraction: float, file_format: str = "parquet", check=None) -> SplitResult:
        """Splits ``source`` by row hash into train/eval/test files (one streaming pass plus one per split).

        The labelled rows are first written once, with their split, to a staging
        Parquet file next to the outputs; ``check(engine, staging_scan, columns)``
        then runs the data contract's queries on it; each split is copied out last.

        Args:
            source: The data.
            label: The label column; unlabelled rows are dropped and counted.
            outputs: Output path per split name; a Parquet split is a folder of shards.
            eval_fraction: Share of rows for eval.
            test_fraction: Share of rows for test.
            file_format: ``parquet`` or ``csv``.
            check: Optional contract check over the staged rows.
        """
        scan = self._readable_scan(source)
        columns = self.columns(scan)
        names = [c.name for c in columns]
        if label not in names:
            raise InputError(f"label column {label!r} not found in {source.uri}; columns are: {', '.join(names)}")
        parent = Path(next(iter(outputs.values()))).parent
        parent.mkdir(parents=True, exist_ok=True)
        staging = parent / f".staging-{uuid.uuid4().hex}.parquet"
        try:
            split = Q.split_case_sql(names, eval_fraction, test_fraction)
            values = ", ".join(_as_text_if_temporal(c) for c in columns)
            self._run(source, f"COPY (SELECT {values}, CASE WHEN {Q.quote(label)} IS NULL THEN NULL ELSE {split} END "
                              f"AS {Q.SPLIT_COLUMN} FROM {scan}) TO {_sql_string(str(staging))} "
                              f"(FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP_ROWS})")
            staged = f"read_parquet({_sql_string(str(staging))})"
            if check is not None:
                check(self, staged, columns)
            counts = dict(self.query(f"SELECT coalesce({Q.SPLIT_COLUMN}, ''), COUNT(*) FROM {staged} GROUP BY 1"))
            rows = {name: int(counts.get(name, 0)) for name in outputs}
            for name, path in outputs.items():
                self._write(f"SELECT {', '.join(Q.quote(n) for n in names)} FROM {staged} "
                            f"WHERE {Q.SPLIT_COLUMN} = {_sql_string(name)}", path, file_format, rows[name])
        finally:
            staging.unlink(missing_ok=True)
        return SplitResult(rows=rows, columns=names, dropped_unlabelled=int(counts.get("", 0)),
                           column_types={c.name: c.type for c in columns})

    def _readable_scan(self, source: Source) -> str:
        """The scan of ``source``; a CSV whose later rows break the sniffed types is re-typed from all rows."""
        scan = self.scan(source)
        if source.kind == "csv":
            try:
                self.columns(scan)
            except self.duckdb.Error as error:
                raise _csv_error(source, error) from None
        return scan

    def _run(self, source: Source, sql: str) -> None:
        try:
            self.con.execute(sql)
        except self.duckdb.ConversionException:
            if source.kind != "csv" or "sample_size = -1" in sql:
                raise
            logger.info("%s: a value past the sniffed rows does not fit its column's type; re-typing from all rows",
                        source.uri)
            self._run(source, sql.replace(self.scan(source), self.scan(source, sample_all=True)))
        except self.duckdb.Error as error:
            if source.kind == "csv":
                raise _csv_error(source, error) from None
            raise InputError(f"cannot read {source.uri}: {str(error).splitlines()[0]}") from None

    def _write(self, select: str, path: str, file_format: str, rows: int) -> None:
        target = Path(path)
        if file_format == "csv":
            target.parent.mkdir(parents=True, exist_ok=True)
            self.con.execute(f"COPY ({select}) TO {_sql_string(str(target))} (FORMAT csv, HEADER true)")
            return
        if target.exists() and target.is_dir():
            shutil.rmtree(target)
        target.mkdir(parents=True, exist_ok=True)
        if rows == 0:  # an empty split is one empty shard that still carries the schema
            import pyarrow.parquet as pq

            pq.write_table(self.arrow(f"{select} LIMIT 0"), target / "data_0.parquet")
            return
        self.con.execute(f"COPY ({select}) TO {_sql_string(str(target))} (FORMAT parquet, OVERWRITE_OR_IGNORE true, "
                         f"FILE_SIZE_BYTES {SHARD_BYTES}, ROW_GROUP_SIZE {ROW_GROUP_ROWS})")


def _as_text_if_temporal(column: Column) -> str:
    """A column for the splits: dates and times become ISO text, as a CSV would hold them."""
    name = Q.quote(column.name)
    temporal = column.type.startswith(("DATE", "TIME", "TIMESTAMP", "INTERVAL"))
    return f"CAST({name} AS VARCHAR) AS {name}" if temporal else name


def _csv_error(source: Source, error: Exception) -> InputError:
    """A one-line InputError for a CSV the engine cannot parse, naming the file (and line, when known)."""
    message = str(error)
    first = message.strip().splitlines()[0] if message.strip() else type(error).__name__
    if "unicode" in message.lower() or "utf-8" in message.lower():
        return InputError(f"{source.uri} is not UTF-8 text ({first}); re-save it as UTF-8 CSV")
    line = next((part.split(":")[0].strip() for part in message.split("Line ")[1:2]), "")
    where = f" (line {line})" if line.isdigit() else ""
    return InputError(f"{source.uri} is not a well-formed CSV{where}: {first}")
