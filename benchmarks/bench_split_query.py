"""The portable split (one SQL definition for BigQuery and DuckDB) against today's pandas split.

Same rows (numeric, text, a boolean and a label), in the same run:

- ``pandas hash`` (baseline): ``ingest.assign_splits``, pandas' ``hash_pandas_object``;
- ``pandas portable``: :func:`queries.portable_splits`, the SQL definition in pandas
  (MD5 of each row's text, in Python);
- ``duckdb sql``: the BigQuery SQL of :mod:`queries` rendered for DuckDB, over a
  Parquet file (out of core), counting rows per split.

It also checks that the DuckDB and pandas-portable splits agree row for row. Run
``python benchmarks/bench_split_query.py`` (200k rows) or ``--rows 2000000``.

Measured on the shared 2-core machine (200k rows x 21 columns): pandas hash 0.10 s,
pandas portable 5.0 s (0.02x), DuckDB SQL 1.3 s (0.07x). The portable key is text
(BigQuery has no way to read a float's bits, and its INT64 arithmetic is overflow-checked),
and formatting every float as text costs about as much in DuckDB's ``printf`` as in
``CAST``: cheap in BigQuery's slots, not on one machine.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_data(rows: int, seed: int) -> pd.DataFrame:
    """Twelve floats, four integers, three text columns, a boolean and a three-class label."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=rows).round(6) for i in range(12)})
    for i in range(4):
        frame[f"n{i}"] = rng.integers(0, 1000, size=rows)
    for i, size in enumerate((5, 50, 500)):
        frame[f"c{i}"] = rng.choice([f"v{k}" for k in range(size)], size=rows)
    frame["flag"] = rng.random(rows) < 0.3
    frame["label"] = rng.choice(["a", "b", "c"], size=rows)
    return frame


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import duckdb
    import sqlglot

    from kfp_mlops.components.data import queries as q
    from kfp_mlops.components.data.ingest import assign_splits

    frame = make_data(args.rows, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        parquet = Path(folder) / "rows.parquet"
        frame.to_parquet(parquet, index=False)
        baseline, t_hash = timed(lambda: assign_splits(frame))
        portable, t_portable = timed(lambda: q.portable_splits(frame))
        con = duckdb.connect()
        con.execute(f"SET threads = {args.threads}")
        con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{parquet}')")
        columns = [q.Column(name, kind) for name, kind in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 't' "
            "ORDER BY ordinal_position").fetchall()]
        summary = q.render(q.split_summary_query(sqlglot.exp.to_table("t"), columns, "label"), "duckdb")
        rows, t_duckdb = timed(lambda: con.execute(summary).fetchall())
        counts = {row[0]: row[1] for row in rows}
        buckets = con.execute(f"SELECT {q.render(q.bucket_expression(columns), 'duckdb')} FROM t").fetchnumpy()
    agree = bool((next(iter(buckets.values())) == q.portable_buckets(frame)).all())
    expected = {name: int((portable == name).sum()) for name in q.SPLITS}
    print(f"rows: {args.rows:,} x {frame.shape[1]} columns; DuckDB threads: {args.threads}")
    print(f"{'split':<18}{'seconds':>9}{'rows/s':>14}{'vs pandas hash':>16}")
    for name, seconds in (("pandas hash", t_hash), ("pandas portable", t_portable), ("duckdb sql", t_duckdb)):
        print(f"{name:<18}{seconds:>9.3f}{args.rows / seconds:>14,.0f}{t_hash / seconds:>15.2f}x")
    print(f"train share: pandas hash {np.mean(baseline == 'train'):.4f}, portable {np.mean(portable == 'train'):.4f}")
    print(f"duckdb and pandas-portable agree row for row: {agree}; counts equal: "
          f"{ {k: v for k, v in counts.items() if k != q.UNLABELLED} == expected}")


if __name__ == "__main__":
    main()
