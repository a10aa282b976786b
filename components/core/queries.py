"""The split and statistics queries, defined once and rendered for DuckDB or BigQuery.

The queries are built as sqlglot expressions in DuckDB's dialect (the embedded
engine, :mod:`.engine`) and transpiled by sqlglot for BigQuery. Two functions
have no common spelling and are rewritten on the way:

- the row hash behind the split: DuckDB's ``hash(c1, c2, ...)`` (UBIGINT), and
  BigQuery's ``FARM_FINGERPRINT(TO_JSON_STRING(STRUCT(c1, c2, ...)))`` (INT64).
  Both hash the row's content, so the split keeps its semantics on either engine
  (same row, same split; duplicates never straddle splits; order does not matter),
  but the two engines do not put a given row in the same split;
- quantiles: DuckDB's ``quantile_cont`` (exact) or ``approx_quantile`` (T-Digest),
  and BigQuery's ``APPROX_QUANTILES(x, 100)`` (its own sketch).

Public entry points for other engines: :func:`bigquery_split_sql` and
:func:`bigquery_statistics_sql`.
"""
from __future__ import annotations

import sqlglot
from sqlglot import exp

BUCKETS = 10_000
SPLIT_COLUMN = "__split"
QUANTILE_POINTS = 100  # 101 cut points: 0%, 1%, ..., 100%
STANDARD_BUCKETS = 10


def quote(name: str) -> str:
    """A column name as a quoted SQL identifier (any name: spaces, quotes, accents)."""
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def _columns(columns: list[str]) -> str:
    return ", ".join(quote(c) for c in columns)


def bucket_sql(columns: list[str]) -> str:
    """The row's bucket in ``[0, BUCKETS)``, from a hash of all its values (DuckDB)."""
    return f"(hash({_columns(columns)}) % {BUCKETS})"


def split_case_sql(columns: list[str], eval_fraction: float, test_fraction: float) -> str:
    """``'train'``, ``'eval'`` or ``'test'`` for a row: the bucket's share against the cut points.

    A row goes to train when ``bucket / BUCKETS < 1 - eval - test``, to eval below
    ``1 - test``, else to test: the same cut points as :func:`.ingest.assign_splits`.
    """
    train_cut = 1.0 - eval_fraction - test_fraction
    bucket = f"({bucket_sql(columns)} / {float(BUCKETS)})"
    return (f"CASE WHEN {bucket} < {train_cut!r} THEN 'train' "
            f"WHEN {bucket} < {train_cut + eval_fraction!r} THEN 'eval' ELSE 'test' END")


def split_sql(table: str, columns: list[str], label: str, eval_fraction: float, test_fraction: float) -> str:
    """Every labelled row of ``table`` with its split in :data:`SPLIT_COLUMN` (DuckDB dialect)."""
    return (f"SELECT {_columns(columns)}, {split_case_sql(columns, eval_fraction, test_fraction)} AS {SPLIT_COLUMN} "
            f"FROM {table} WHERE {quote(label)} IS NOT NULL")


def quantile_points() -> list[float]:
    """The quantiles the statistics read: 0, 0.01, ..., 1."""
    return [i / QUANTILE_POINTS for i in range(QUANTILE_POINTS + 1)]


def numeric_profile_sql(table: str, columns: list[str], quantile: str = "approx_quantile") -> str:
    """One row of per-column aggregates over the numeric ``columns`` (finite values for the moments).

    For each column ``c`` (in order): non-null count, finite count, zeros, min, max,
    mean, population standard deviation, whether every finite value is whole, and
    (unless ``quantile`` is empty) the 101 quantiles of :func:`quantile_points` by
    ``quantile`` (``approx_quantile``: T-Digest; ``quantile_cont``: exact).
    """
    points = "[" + ", ".join(repr(p) for p in quantile_points()) + "]"
    parts, inner = [], []
    for i, name in enumerate(columns):
        c, f = f"v{i}", f"f{i}"  # the value, and the value when finite (computed once per row)
        inner += [f"{quote(name)} AS {c}",
                  f"CASE WHEN isfinite(CAST({quote(name)} AS DOUBLE)) THEN CAST({quote(name)} AS DOUBLE) END AS {f}"]
        parts += [f"COUNT({c})", f"COUNT({f})", f"COUNT(CASE WHEN {f} = 0 THEN 1 END)", f"MIN({f})", f"MAX({f})",
                  f"AVG({f})", f"STDDEV_POP({f})", f"BOOL_AND({f} = TRUNC({f}))"]
        parts += [f"{quantile}({f}, {points})"] if quantile else []
    return f"SELECT COUNT(*), {', '.join(parts)} FROM (SELECT {', '.join(inner) or '1'} FROM {table})"


def histogram_sql(table: str, edges: dict[str, tuple[float, float]]) -> str:
    """Counts of each column's finite values in :data:`STANDARD_BUCKETS` equal-width buckets of [min, max]."""
    parts, inner = [], []
    for number, (name, (low, high)) in enumerate(edges.items()):
        c = f"CAST({quote(name)} AS DOUBLE)"
        width = (high - low) / STANDARD_BUCKETS
        inner.append(f"CASE WHEN isfinite({c}) THEN LEAST(CAST(FLOOR(({c} - {low!r}) / {width!r}) AS BIGINT), "
                     f"{STANDARD_BUCKETS - 1}) END AS b{number}")  # the bucket, computed once per row
        parts += [f"COUNT(CASE WHEN b{number} = {i} THEN 1 END)" for i in range(STANDARD_BUCKETS)]
    return f"SELECT {', '.join(parts)} FROM (SELECT {', '.join(inner)} FROM {table})" if parts else "SELECT 1"


def string_profile_sql(table: str, columns: list[str]) -> str:
    """One row: per string column, the non-null count, the distinct count and the total length."""
    parts = []
    for name in columns:
        c = quote(name)
        parts += [f"COUNT({c})", f"COUNT(DISTINCT {c})", f"SUM(LENGTH({c}))"]
    return f"SELECT COUNT(*), {', '.join(parts)} FROM {table}"


def value_counts_sql(table: str, column: str, limit: int) -> str:
    """A string column's values by count (most frequent first, ties by value), at most ``limit``."""
    c = quote(column)
    return (f"SELECT {c} AS value, COUNT(*) AS frequency FROM {table} WHERE {c} IS NOT NULL "
            f"GROUP BY {c} ORDER BY frequency DESC, value LIMIT {int(limit)}")


def _bigquery_rewrite(node: exp.Expr) -> exp.Expr:
    """Rewrites DuckDB's row hash and quantile functions into BigQuery's."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "hash":
        row = exp.Struct(expressions=list(node.expressions))
        fingerprint = exp.Anonymous(this="FARM_FINGERPRINT", expressions=[exp.JSONFormat(this=row)])
        buckets = exp.Literal.number(BUCKETS)
        positive = exp.Add(this=exp.Mod(this=fingerprint, expression=buckets), expression=buckets.copy())
        return exp.Mod(this=exp.Paren(this=positive), expression=buckets.copy())
    if isinstance(node, exp.Anonymous) and node.name.lower() == "isfinite":
        value = node.expressions[0]
        return exp.and_(exp.not_(exp.Anonymous(this="IS_INF", expressions=[value.copy()])),
                        exp.not_(exp.Anonymous(this="IS_NAN", expressions=[value.copy()])))
    if isinstance(node, (exp.Quantile, exp.ApproxQuantile, exp.PercentileCont)) or (
            isinstance(node, exp.Anonymous) and node.name.lower() in ("quantile_cont", "approx_quantile")):
        return exp.Anonymous(this="APPROX_QUANTILES", expressions=[node.this if not isinstance(node, exp.Anonymous)
                                                                   else node.expressions[0],
                                                                   exp.Literal.number(QUANTILE_POINTS)])
    return node


_TABLE = "__kfp_mlops_source__"


def to_bigquery(sql: str, table: str = "") -> str:
    """Transpiles one of this module's DuckDB queries into BigQuery Standard SQL.

    Args:
        sql: A query of this module, built over the table name :data:`_TABLE` when ``table`` is given.
        table: What replaces that name: a BigQuery table (```project.dataset.table```) or ``(subquery)``.
    """
    tree = sqlglot.parse_one(sql, read="duckdb").transform(_bigquery_rewrite)
    text = tree.sql(dialect="bigquery")
    return text.replace(_TABLE, table) if table else text


def bigquery_split_sql(table: str, columns: list[str], label: str, eval_fraction: float = 0.15,
                       test_fraction: float = 0.15) -> str:
    """The split query for BigQuery: ``table``'s labelled rows with a ``__split`` column.

    Args:
        table: A BigQuery table reference (e.g. ```project.dataset.table```) or ``(subquery)``.
        columns: The table's columns, in order (all of them are hashed).
        label: The label column; rows without a label are dropped.
        eval_fraction: Share of rows for eval.
        test_fraction: Share of rows for test.
    """
    return to_bigquery(split_sql(_TABLE, columns, label, eval_fraction, test_fraction), table)


def bigquery_statistics_sql(table: str, numeric: list[str], strings: list[str]) -> dict[str, str]:
    """The statistics queries for BigQuery: ``numeric``, ``strings`` and one ``values:<column>`` per string column.

    The equal-width histogram needs each column's min and max first, so its query
    is built from the numeric profile's answer with ``to_bigquery(histogram_sql(...))``.
    """
    queries = {"numeric": to_bigquery(numeric_profile_sql(_TABLE, numeric), table),
               "strings": to_bigquery(string_profile_sql(_TABLE, strings), table)}
    for name in strings:
        queries[f"values:{name}"] = to_bigquery(value_counts_sql(_TABLE, name, 100_000), table)
    return queries
