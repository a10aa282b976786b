"""BigQuery sources through the real google-cloud-bigquery client, against a loopback stand-in.

The stand-in (:mod:`tests.data.bigquery_fake`) answers BigQuery's REST API and runs the
queries it receives on DuckDB, after transpiling them with sqlglot; the tests check the
requests the client sends and what the library makes of the answers.
"""
from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine

from kfp_mlops.components.core import bigquery as bq
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.data.bigquery_split import split_in_bigquery, table_uri
from kfp_mlops.components.data.queries import portable_splits
from tests.data.bigquery_fake import FakeBigQuery

SPLITS = ("train", "eval", "test")


def odd_frame() -> pd.DataFrame:
    """Diabetes (a regression label) with odd column names, booleans, text, gaps and an integer column."""
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"bmi": "body mass", "bp": "bp \"mm\""})
    frame["smoker"] = frame["age"] % 3 == 0
    frame["région"] = [["nord", "sud", "é|st"][i % 3] for i in range(len(frame))]
    frame.loc[frame.index % 11 == 0, "région"] = None
    frame["visits"] = (frame.index % 7).astype("int64")
    frame.loc[frame.index % 13 == 0, "target"] = None  # unlabelled rows
    return frame


@pytest.fixture
def fake(tmp_path, monkeypatch):
    wine = load_wine(as_frame=True).frame
    wine["name"] = [f"w{i}" if i % 5 else None for i in range(len(wine))]
    tables = {"my-proj.ds.wine": wine, "my-proj.ds.diabetes": odd_frame(),
              "my-proj.ds.constant": wine.assign(target=1)}
    with FakeBigQuery(tables, gcs_root=tmp_path / "gcs", page_size=50) as server:
        monkeypatch.setenv(bq.ENDPOINT_ENV, server.url)
        yield server


@pytest.mark.parametrize("uri, message", [
    ("bq://my-proj.ds", "found 2 of the 3 parts"),
    ("bq://", "found 0 of the 3 parts"),
    ("bq://My_Proj.ds.t", "the project 'My_Proj' is not a valid BigQuery project id"),
    ("bq://my-proj.d-s.t", "the dataset 'd-s' is not a valid BigQuery dataset id"),
    ("bq://my-proj.ds.t/x", "the table 't/x' is not a valid BigQuery table id"),
    ("DELETE FROM t", "neither a bq://PROJECT.DATASET.TABLE URI nor a SELECT query"),
])
def test_bad_sources_fail_in_one_line_naming_the_field(uri, message):
    with pytest.raises(InputError) as raised:
        bq.parse_source(uri)
    assert str(raised.value).startswith("data_path: ") and message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_sources_parse_tables_domain_projects_and_queries():
    assert bq.parse_source("bq://example.com:my-proj.ds.t").table == "example.com:my-proj.ds.t"
    assert bq.parse_source("  with x as (select 1) select * from x").query.startswith("with")
    assert table_uri({"projectId": "my-proj", "datasetId": "ds", "tableId": "t"}) == "bq://my-proj.ds.t"
    with pytest.raises(InputError, match="table: the google.BQTable artifact has no tableId"):
        table_uri({"projectId": "my-proj", "datasetId": "ds"})


def test_a_table_is_read_page_by_page_through_tabledata_list(fake):
    frame, digest = bq.read_frame("bq://my-proj.ds.wine")
    pd.testing.assert_frame_equal(frame, fake.tables["my-proj.ds.wine"], check_dtype=False)
    reads = [query for path, query in fake.query_strings if path.endswith("/tables/wine/data")]
    assert len(reads) == 4  # 178 rows, 50 a page
    assert [q.get("pageToken", [""])[0] for q in reads] == ["", "50", "100", "150"]
    assert bq.read_frame("bq://my-proj.ds.wine")[1] == digest and len(digest) == 64


def test_a_query_runs_as_a_standard_sql_job_and_its_rows_come_back(fake):
    sql = "SELECT * FROM `my-proj.ds.wine` WHERE alcohol > 13 AND name IS NOT NULL"
    frame, _ = bq.read_frame(sql, project="billing-proj")
    [body] = fake.calls("POST", r"/projects/billing-proj/jobs$")
    assert body["configuration"]["query"] == {"query": sql, "useLegacySql": False}
    assert body["jobReference"]["projectId"] == "billing-proj"
    assert fake.calls("GET", r"/projects/billing-proj/queries/" + body["jobReference"]["jobId"])
    wine = fake.tables["my-proj.ds.wine"]
    expected = wine[(wine["alcohol"] > 13) & wine["name"].notna()]
    assert frame.sort_values("proline").to_numpy().tolist() == expected.sort_values("proline").to_numpy().tolist()


@pytest.mark.parametrize("source, setup, message", [
    ("bq://my-proj.ds.nope", None, "data_path: BigQuery has no table bq://my-proj.ds.nope: Not found: Table "
                                   "my-proj:ds.nope"),
    ("bq://my-proj.other.wine", None, "data_path: BigQuery has no dataset for bq://my-proj.other.wine"),
    ("SELECT * FROM `my-proj.ds.nope`", None, "data_path: BigQuery has no table that the query reads"),
    ("bq://my-proj.ds.wine", "denied", "data_path: BigQuery refused access to bq://my-proj.ds.wine (HTTP 403): "
                                      "Access Denied"),
    ("bq://my-proj.ds.wine", "unauthenticated", "data_path: BigQuery refused the credentials for bq://my-proj.ds.wine (HTTP 401)"),
    ("SELECT FROM WHERE", None, "data_path: BigQuery rejected query 'SELECT FROM WHERE': Syntax error"),
])
def test_api_errors_are_one_line_input_errors(fake, source, setup, message):
    if setup == "denied":
        fake.denied.add("my-proj.ds.wine")
    if setup == "unauthenticated":
        fake.unauthenticated = True
    with pytest.raises(InputError) as raised:
        bq.read_frame(source)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert "127.0.0.1" not in str(raised.value)


def test_the_split_runs_in_bigquery_and_exports_the_pandas_split(fake, tmp_path):
    folders = {name: f"gs://bkt/run/{name}" for name in SPLITS}
    result = split_in_bigquery("bq://my-proj.ds.diabetes", "target", folders, project="billing-proj")
    jobs = fake.calls("POST", r"/projects/billing-proj/jobs$")
    summary, *exports = [job["configuration"]["query"]["query"] for job in jobs]
    assert summary.startswith("SELECT CASE WHEN label_value IS NULL THEN 'unlabelled'")
    assert "FROM `my-proj`.`ds`.`diabetes`" in summary and "EXPORT" not in summary
    assert [job["configuration"]["labels"] for job in jobs] == [
        {"kfp-mlops-step": step} for step in ("split-summary", "split-train", "split-eval", "split-test")]
    for name, sql in zip(SPLITS, exports, strict=True):
        assert sql.startswith(f"EXPORT DATA OPTIONS (uri='gs://bkt/run/{name}/part-*.parquet', FORMAT='PARQUET', "
                              "overwrite=TRUE) AS SELECT * FROM `my-proj`.`ds`.`diabetes` WHERE NOT `target` IS NULL")
        assert "FARM_FINGERPRINT" not in sql and "TO_HEX(MD5(CONCAT(" in sql
    # Row for row, the shards hold what the pandas definition assigns (the same rows, wherever they sit).
    source = fake.tables["my-proj.ds.diabetes"]
    labelled = source[source["target"].notna()]
    expected = portable_splits(labelled)
    for name in SPLITS:
        shards = pd.read_parquet(tmp_path / "gcs" / "bkt" / "run" / name)
        want = labelled[expected == name]
        assert len(shards) == len(want) == result.rows[name] > 0
        key = ["age", "body mass", "s1", "target"]
        assert (shards.sort_values(key)[list(want.columns)].astype(str).to_numpy().tolist()
                == want.sort_values(key).astype(str).to_numpy().tolist())
    assert result.dropped_unlabelled == int(source["target"].isna().sum()) == 34
    assert result.uris["test"] == "gs://bkt/run/test/part-*.parquet" and set(result.job_ids) == {"summary", *SPLITS}


@pytest.mark.parametrize("source, label, fractions, message", [
    ("bq://my-proj.ds.constant", "target", {}, "label column 'target' in bq://my-proj.ds.constant has a single value"),
    ("bq://my-proj.ds.wine", "colour", {}, "label column 'colour' not found in bq://my-proj.ds.wine; columns are: "
                                          "alcohol, malic_acid"),
    ("SELECT * FROM `my-proj.ds.diabetes` LIMIT 12", "target", {}, "has 11 labelled rows; training needs at least 20"),
    ("bq://my-proj.ds.wine", "target", {"eval_fraction": 0.0001}, "the eval split of bq://my-proj.ds.wine is empty"),
])
def test_the_split_checks_run_before_anything_is_exported(fake, source, label, fractions, message):
    with pytest.raises(InputError) as raised:
        split_in_bigquery(source, label, {name: f"gs://bkt/{name}" for name in SPLITS}, **fractions)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert not [body for body in fake.calls("POST", "/jobs$") if "EXPORT DATA" in body["configuration"]["query"]
                ["query"]]


def test_the_split_exports_only_to_cloud_storage():
    with pytest.raises(InputError, match="^output train: BigQuery exports to Cloud Storage only"):
        split_in_bigquery("bq://my-proj.ds.wine", "target", {name: f"/tmp/{name}" for name in SPLITS})


def test_fingerprints_follow_the_tables_not_the_rows(fake):
    table, query = "bq://my-proj.ds.wine", "SELECT * FROM `my-proj.ds.wine` WHERE alcohol > 13"
    before = bq.fingerprint(table), bq.fingerprint(query)
    assert before[0] == "bq:my-proj.ds.wine:etag-1:1700000000001:178" and before[1].startswith("bq-query-sha256:")
    assert not fake.calls("GET", "/data$")  # no rows read
    dry_runs = [b for b in fake.calls("POST", "/jobs$") if b["configuration"].get("dryRun")]
    assert len(dry_runs) == 1
    fake.replace_table("my-proj.ds.wine", fake.tables["my-proj.ds.wine"].head(100))
    after = bq.fingerprint(table), bq.fingerprint(query)
    assert after[0] != before[0] and after[1] != before[1]
    assert bq.fingerprint(query) == after[1]


def test_preflight_reads_the_schema_and_a_free_sample(fake):
    from kfp_mlops.components.core.data_contract import model_name_from, preflight

    sample = preflight("bq://my-proj.ds.diabetes", "target")
    assert sample.columns[:3] == ["age", "sex", "body mass"] and sample.sample_rows == 442 and not sample.complete
    query = preflight("SELECT age, target FROM `my-proj.ds.diabetes`", "target")
    assert query.columns == ["age", "target"] and query.sample_rows == 0  # a dry run: nothing scanned
    with pytest.raises(InputError, match="^label column 'y' not found in bq://my-proj.ds.diabetes"):
        preflight("bq://my-proj.ds.diabetes", "y")
    assert model_name_from("bq://my-proj.ds.Penguins_2024") == "penguins-2024"
    assert model_name_from("SELECT * FROM `a.b.c`") == "model"


def test_the_shared_table_reader_takes_bigquery_sources(fake):
    """Ingestion, batch scoring and monitoring's labelled window all read through ``core.tables``."""
    from kfp_mlops.components.core.tables import load_labelled

    frame, source, label, unlabelled = load_labelled("SELECT * FROM `my-proj.ds.diabetes` WHERE sex = 2", "target")
    assert label == "target" and source.startswith("SELECT") and len(frame) + unlabelled == 207
    odd = odd_frame()
    assert frame["target"].notna().all() and unlabelled == int(odd[odd["sex"] == 2]["target"].isna().sum()) == 13
