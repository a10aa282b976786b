"""Query definitions written once (as sqlglot trees) and rendered for BigQuery or DuckDB.

The deterministic split is defined here so that every engine assigns the same row
to the same split:

- the row's *key* is its values as text, joined by ``|`` in column order: integers
  and strings as they are, floats as ``printf('%.15g')``, booleans as
  ``true``/``false``, NULL as the empty string. Fifteen significant digits give back
  any decimal of up to 15 digits whichever parser read it (pandas' default CSV parser
  can land an ulp away from DuckDB's or BigQuery's correctly rounded one), and an
  integral float prints like the integer, so an integer column read with gaps as
  floats keeps its keys;
- other types (dates, timestamps, numerics) are ``CAST(... AS STRING)``, the engine's
  own text: a date column matches pandas' text ``YYYY-MM-DD``, but timestamps are
  written differently by each engine, so their splits agree only within one engine;
- its *bucket* is the first 15 hex digits of the key's MD5, modulo 10 000;
- buckets below ``train_cut`` are ``train``, then ``eval``, then ``test``, with
  the same float comparisons as :func:`kfp_mlops.components.data.ingest.assign_splits`.

:func:`portable_splits` computes the same in pandas, so the engines' splits can be
checked row for row. It differs from ``ingest.split_buckets`` (pandas'
``hash_pandas_object``: SipHash over pandas' own encodings, combined with unsigned
64-bit arithmetic that BigQuery's overflow-checked INT64 cannot express): same
fractions, different rows. Farm fingerprints (BigQuery's ``FARM_FINGERPRINT``) are
avoided because DuckDB has no such function.

The trees are built from the BigQuery dialect and rendered with :func:`render`;
DuckDB gets one fix on top of sqlglot: BigQuery's printf-style ``FORMAT`` becomes
DuckDB's ``PRINTF`` (sqlglot 30 keeps ``FORMAT``, which in DuckDB is fmt-style).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.duckdb import DuckDB

BUCKETS = 10_000
SEPARATOR = "|"
SPLITS = ("train", "eval", "test")
UNLABELLED = "unlabelled"
_HEX_DIGITS = 15  # 60 bits: fits a signed INT64 in every engine
_FLOAT_FORMAT = "%.15g"  # 15 digits: any decimal text of up to 15 digits survives, whichever parser rounded it

_INTEGER = {"INT64", "INTEGER", "INT", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER",
            "USMALLINT", "UTINYINT", "BYTEINT"}
_FLOAT = {"FLOAT64", "FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8"}
_BOOLEAN = {"BOOL", "BOOLEAN"}
_STRING = {"STRING", "VARCHAR", "TEXT", "CHAR", "BPCHAR"}


@dataclass(frozen=True)
class Column:
    """One column of a source: its name and its SQL type (BigQuery or DuckDB spelling)."""

    name: str
    type: str

    @property
    def kind(self) -> str:
        """``integer``, ``float``, ``boolean``, ``string`` or ``other`` (dates, numerics: cast to text)."""
        base = self.type.upper().split("(", 1)[0].strip()
        for kind, names in (("integer", _INTEGER), ("float", _FLOAT), ("boolean", _BOOLEAN), ("string", _STRING)):
            if base in names:
                return kind
        return "other"


class _DuckDB(DuckDB):
    """DuckDB, with BigQuery's printf-style ``FORMAT`` rendered as ``PRINTF``."""

    class Generator(DuckDB.Generator):  # type: ignore[valid-type,misc]  # sqlglot declares it as a variable
        TRANSFORMS = {
            **DuckDB.Generator.TRANSFORMS,
            exp.Format: lambda self, e: self.func("PRINTF", e.this, *e.expressions),
        }


DIALECTS: dict[str, str | type[Dialect]] = {"bigquery": "bigquery", "duckdb": _DuckDB}


def render(tree: exp.Expr, dialect: str) -> str:
    """Renders a query tree as SQL for ``bigquery`` or ``duckdb``.

    Raises:
        ValueError: For another dialect.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of: {', '.join(DIALECTS)}")
    return tree.sql(dialect=DIALECTS[dialect])


def _bq(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="bigquery")


def _text(column: Column) -> exp.Expr:
    """The column's canonical text, NULL as ''."""
    ref = exp.column(column.name, quoted=True)
    if column.kind == "string":
        value: exp.Expr = ref
    elif column.kind == "float":
        value = exp.Format(this=exp.Literal.string(_FLOAT_FORMAT), expressions=[ref])
    else:
        value = exp.cast(ref, exp.DataType.build("STRING", dialect="bigquery"))
    return exp.func("COALESCE", value, exp.Literal.string(""))


def row_key(columns: Sequence[Column]) -> exp.Expr:
    """The row's key: every column's canonical text, joined by ``|``."""
    parts: list[exp.Expr] = []
    for index, column in enumerate(columns):
        if index:
            parts.append(exp.Literal.string(SEPARATOR))
        parts.append(_text(column))
    return exp.Concat(expressions=parts, safe=False)


def bucket_expression(columns: Sequence[Column]) -> exp.Expr:
    """The row's bucket in ``[0, 10000)``: MD5 of :func:`row_key`, first 15 hex digits, modulo."""
    tree = _bq(f"MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(key)), 1, {_HEX_DIGITS})) AS INT64), {BUCKETS})")
    return tree.transform(lambda node: row_key(columns) if isinstance(node, exp.Column) and node.name == "key"
                          else node)


def split_cuts(eval_fraction: float, test_fraction: float) -> tuple[int, int]:
    """The first bucket of ``eval`` and of ``test``, with ``assign_splits``' float comparisons.

    Raises:
        ValueError: If the fractions are not in [0, 1) or leave no training rows.
    """
    for name, value in (("eval_fraction", eval_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if eval_fraction + test_fraction >= 1.0:
        raise ValueError("eval_fraction + test_fraction must leave rows for training")
    train_cut = 1.0 - eval_fraction - test_fraction
    shares = np.arange(BUCKETS) / float(BUCKETS)
    return int(np.count_nonzero(shares < train_cut)), int(np.count_nonzero(shares < train_cut + eval_fraction))


def split_condition(columns: Sequence[Column], split: str, eval_fraction: float = 0.15,
                    test_fraction: float = 0.15) -> exp.Expr:
    """The condition that holds for the rows of one split: ``bucket BETWEEN low AND high``.

    Raises:
        ValueError: For an unknown split name or bad fractions.
    """
    ranges = dict(zip(SPLITS, _ranges(eval_fraction, test_fraction), strict=True))
    if split not in ranges:
        raise ValueError(f"unknown split {split!r}; expected one of: {', '.join(SPLITS)}")
    low, high = ranges[split]
    return exp.Between(this=bucket_expression(columns), low=exp.Literal.number(low),
                       high=exp.Literal.number(high - 1))


def _ranges(eval_fraction: float, test_fraction: float) -> list[tuple[int, int]]:
    eval_cut, test_cut = split_cuts(eval_fraction, test_fraction)
    return [(0, eval_cut), (eval_cut, test_cut), (test_cut, BUCKETS)]


def split_rows_query(source: exp.Expr, columns: Sequence[Column], label: str, split: str,
                     eval_fraction: float = 0.15, test_fraction: float = 0.15) -> exp.Select:
    """``SELECT *`` of one split's labelled rows.

    Args:
        source: A table or a subquery (:func:`source_tree`).
        columns: The source's columns, in order.
        label: The label column; rows where it is NULL are left out.
        split: ``train``, ``eval`` or ``test``.
        eval_fraction: Share of rows for ``eval``.
        test_fraction: Share of rows for ``test``.
    """
    condition = exp.and_(exp.column(label, quoted=True).is_(exp.null()).not_(),
                         split_condition(columns, split, eval_fraction, test_fraction))
    return exp.select(exp.Star()).from_(source.copy()).where(condition)


def split_summary_query(source: exp.Expr, columns: Sequence[Column], label: str,
                        eval_fraction: float = 0.15, test_fraction: float = 0.15) -> exp.Select:
    """Rows, distinct labels and label range per split (and of the ``unlabelled`` rows).

    One pass over the source; its result decides the same checks as local ingestion
    (empty split, a single label value, too few rows) before anything is exported.
    Output columns: ``split``, ``row_count``, ``label_count``, ``label_min``, ``label_max``.
    """
    eval_cut, test_cut = split_cuts(eval_fraction, test_fraction)
    inner = exp.select(
        exp.alias_(exp.column(label, quoted=True), "label_value"),
        exp.alias_(bucket_expression(columns), "bucket"),
    ).from_(source.copy())
    split = exp.Case(
        ifs=[exp.If(this=exp.column("label_value").is_(exp.null()), true=exp.Literal.string(UNLABELLED)),
             exp.If(this=exp.LT(this=exp.column("bucket"), expression=exp.Literal.number(eval_cut)),
                    true=exp.Literal.string("train")),
             exp.If(this=exp.LT(this=exp.column("bucket"), expression=exp.Literal.number(test_cut)),
                    true=exp.Literal.string("eval"))],
        default=exp.Literal.string("test"),
    )
    return (
        exp.select(
            exp.alias_(split, "split"),
            exp.alias_(exp.Count(this=exp.Star()), "row_count"),
            exp.alias_(exp.Count(this=exp.Distinct(expressions=[exp.column("label_value")])), "label_count"),
            exp.alias_(exp.cast(exp.Min(this=exp.column("label_value")), "STRING"), "label_min"),
            exp.alias_(exp.cast(exp.Max(this=exp.column("label_value")), "STRING"), "label_max"),
        )
        .from_(inner.subquery("rows_with_buckets"))
        .group_by(exp.Literal.number(1))
        .order_by(exp.Literal.number(1))
    )


def export_query(select: exp.Select, uri: str) -> exp.Expr:
    """BigQuery's ``EXPORT DATA`` of ``select`` as Parquet shards at ``uri`` (one ``*`` wildcard)."""
    options = exp.Properties(expressions=[
        exp.Property(this=exp.var("uri"), value=exp.Literal.string(uri)),
        exp.FileFormatProperty(this=exp.Literal.string("PARQUET")),
        exp.Property(this=exp.var("overwrite"), value=exp.true()),
    ])
    return exp.Export(this=select, options=options)


def source_tree(table: str = "", query: str = "") -> exp.Expr:
    """A table (``project.dataset.table``) or a query (BigQuery SQL) as a ``FROM`` source.

    Raises:
        ValueError: Unless exactly one of ``table`` and ``query`` is given.
    """
    if bool(table) == bool(query):
        raise ValueError("give a table or a query, not both")
    if table:
        project, dataset, name = table.split(".", 2)
        return exp.Table(this=exp.to_identifier(name, quoted=True), db=exp.to_identifier(dataset, quoted=True),
                         catalog=exp.to_identifier(project, quoted=True))
    return exp.Subquery(this=_bq(query), alias=exp.TableAlias(this=exp.to_identifier("source")))


# -- the same definition in pandas ------------------------------------------------------------------


def _texts(series: pd.Series) -> pd.Series:
    """One column's canonical text (see :func:`_text`), from a pandas column."""
    missing = series.isna()
    if pd.api.types.is_bool_dtype(series):
        text = series.map({True: "true", False: "false"})
    elif pd.api.types.is_integer_dtype(series):
        text = series.astype("Int64").astype(str)
    elif pd.api.types.is_float_dtype(series):
        text = pd.Series([_FLOAT_FORMAT % value for value in series.to_numpy(dtype=float, na_value=np.nan)],
                         index=series.index)
    else:
        text = series.map(lambda value: "true" if value is True else "false" if value is False
                          else _FLOAT_FORMAT % value if isinstance(value, float) else str(value))
    return text.where(~missing, "")


def row_keys(frame: pd.DataFrame) -> pd.Series:
    """Every row's key (:func:`row_key`) as text."""
    if frame.shape[1] == 0:
        return pd.Series([""] * len(frame), index=frame.index)
    texts = [_texts(frame.iloc[:, position]) for position in range(frame.shape[1])]
    return texts[0].str.cat(texts[1:], sep=SEPARATOR) if len(texts) > 1 else texts[0]


def portable_buckets(frame: pd.DataFrame) -> np.ndarray:
    """Each row's bucket, as :func:`bucket_expression` computes it in SQL."""
    return np.fromiter(
        (int(hashlib.md5(key.encode("utf-8")).hexdigest()[:_HEX_DIGITS], 16) % BUCKETS for key in row_keys(frame)),
        dtype=np.int64, count=len(frame),
    )


def portable_splits(frame: pd.DataFrame, eval_fraction: float = 0.15, test_fraction: float = 0.15) -> np.ndarray:
    """``train``, ``eval`` or ``test`` per row, as :func:`split_expression` assigns them in SQL."""
    eval_cut, test_cut = split_cuts(eval_fraction, test_fraction)
    buckets = portable_buckets(frame)  # the ranges of split_condition
    return np.where(buckets < eval_cut, "train", np.where(buckets < test_cut, "eval", "test"))
