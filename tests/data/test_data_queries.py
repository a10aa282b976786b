"""One split definition, three engines: the BigQuery SQL, transpiled to DuckDB, against pandas."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot
from sklearn.datasets import load_breast_cancer, load_diabetes

from kfp_mlops.components.data import queries as q


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[q.Column]:
    rows = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                       "ORDER BY ordinal_position", [table]).fetchall()
    return [q.Column(name, kind) for name, kind in rows]


def _odd_csv(path) -> None:
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"bmi": "body mass", "s1": "s1 (tc)"})
    frame["smoker"] = np.where(frame.index % 3 == 0, "True", "False")
    frame["city"] = [["Zürich", "a,b", "", "x|y"][i % 4] for i in range(len(frame))]
    frame["visits"] = pd.array([None if i % 9 == 0 else i % 5 for i in range(len(frame))], dtype="Int64")
    frame["date"] = [f"2024-01-{1 + i % 28:02d}" for i in range(len(frame))]
    frame["tiny"] = frame["s2"] * 1e-9
    frame.loc[frame.index % 17 == 0, "target"] = None
    frame.to_csv(path, index=False)


@pytest.mark.parametrize("dataset", ["breast_cancer", "odd"])
def test_duckdb_splits_a_csv_exactly_as_pandas_does(tmp_path, dataset):
    path = tmp_path / "data.csv"
    if dataset == "odd":
        _odd_csv(path)
    else:
        load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv_auto('{path}')")
    columns = _columns(con, "t")
    source = sqlglot.exp.to_table("t")
    # pandas' default float parser can be an ulp off a correctly rounded one (DuckDB's, BigQuery's): the key's
    # 15 significant digits hide it (with '%.17g', 15% of these rows moved).
    frame = pd.read_csv(path)
    if dataset == "odd":
        kinds = {c.name: c.kind for c in columns}
        assert (kinds["smoker"], kinds["visits"], kinds["city"], kinds["date"]) == ("boolean", "integer", "string",
                                                                                    "other")
        assert frame["visits"].dtype == float  # pandas reads the gaps as NaN: the key must not change
    buckets = con.execute(f"SELECT {q.render(q.bucket_expression(columns), 'duckdb')} FROM t").fetchnumpy()
    np.testing.assert_array_equal(next(iter(buckets.values())), q.portable_buckets(frame))
    expected = q.portable_splits(frame)
    labelled = frame["target"].notna().to_numpy()
    for name in ("train", "eval", "test"):
        sql = q.render(q.split_rows_query(source, columns, "target", name), "duckdb")
        got = con.execute(sql).df()
        assert len(got) == int(((expected == name) & labelled).sum()) > 0
    summary = con.execute(q.render(q.split_summary_query(source, columns, "target"), "duckdb")).df()
    counts = dict(zip(summary["split"], summary["row_count"], strict=True))
    assert counts.get("unlabelled", 0) == int((~labelled).sum())
    assert {k: v for k, v in counts.items() if k != "unlabelled"} == {
        name: int(((expected == name) & labelled).sum()) for name in ("train", "eval", "test")}


@pytest.mark.parametrize("eval_fraction, test_fraction", [(0.15, 0.15), (0.1, 0.2), (0.0, 0.3), (0.333, 0.333),
                                                          (0.05, 0.0)])
def test_bucket_cuts_reproduce_the_float_comparisons_of_assign_splits(eval_fraction, test_fraction):
    buckets = np.arange(q.BUCKETS)
    train_cut = 1.0 - eval_fraction - test_fraction
    share = buckets / 10_000.0  # ingest.assign_splits' arithmetic
    local = np.where(share < train_cut, "train", np.where(share < train_cut + eval_fraction, "eval", "test"))
    eval_cut, test_cut = q.split_cuts(eval_fraction, test_fraction)
    assert (np.where(buckets < eval_cut, "train", np.where(buckets < test_cut, "eval", "test")) == local).all()


def test_the_bigquery_rendering_uses_only_portable_functions():
    columns = [q.Column("x", "FLOAT64"), q.Column("n", "INT64"), q.Column("s", "STRING"), q.Column("b", "BOOL")]
    sql = q.render(q.split_rows_query(q.source_tree(table="p-roj1.ds.t"), columns, "s", "eval"), "bigquery")
    assert sql == ("SELECT * FROM `p-roj1`.`ds`.`t` WHERE NOT `s` IS NULL AND MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5("
                   "CONCAT(COALESCE(FORMAT('%.15g', `x`), ''), '|', COALESCE(CAST(`n` AS STRING), ''), '|', "
                   "COALESCE(`s`, ''), '|', COALESCE(CAST(`b` AS STRING), '')))), 1, 15)) AS INT64), 10000) "
                   "BETWEEN 7000 AND 8499")
    duck = q.render(q.split_rows_query(q.source_tree(table="p-roj1.ds.t"), columns, "s", "eval"), "duckdb")
    assert "PRINTF('%.15g', \"x\")" in duck and "FORMAT(" not in duck
    with pytest.raises(ValueError, match="unknown SQL dialect 'spark'"):
        q.render(sqlglot.exp.select("1"), "spark")
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        q.split_condition(columns, "valid")
