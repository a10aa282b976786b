"""Data where users keep it: Parquet files and shard folders, gs:// through a loopback Cloud Storage, the engine."""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from kfp_mlops.components.core import queries as Q
from kfp_mlops.components.core.data_contract import preflight
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.sources import read_table, resolve, sample_table
from kfp_mlops.components.data.ingest import assign_splits, ingest_csv
from kfp_mlops.components.validation.statistics import compute_statistics, feature_name
from tests.support.fake_gcs import FakeGcs  # noqa: E402


def _wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    return load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})


def _shards(frame: pd.DataFrame, folder: Path, parts: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for number, part in enumerate(np.array_split(np.arange(len(frame)), parts)):
        frame.iloc[part].to_parquet(folder / f"part-{number}.parquet", index=False)
    (folder / "_SUCCESS").write_text("")  # writers' markers are not shards
    return folder


def _splits(tmp_path: Path, name: str = "out") -> dict[str, str]:
    return {split: str(tmp_path / name / split) for split in ("train", "eval", "test")}


def test_a_parquet_folder_is_ingested_into_parquet_splits_with_the_same_rows(tmp_path):
    wine = _wine()
    folder = _shards(wine, tmp_path / "wine")
    assert resolve(folder).kind == "parquet" and len(resolve(folder).files) == 3
    result = ingest_csv(str(folder), "cultivar", _splits(tmp_path))
    assert result.source_format == "parquet" and result.file_format == "parquet"
    parts = {name: read_table(path) for name, path in _splits(tmp_path).items()}
    assert {name: len(part) for name, part in parts.items()} == result.rows
    merged = pd.concat(parts.values()).sort_values(list(wine.columns)).reset_index(drop=True)
    pd.testing.assert_frame_equal(merged, wine.sort_values(list(wine.columns)).reset_index(drop=True),
                                  check_dtype=False)
    # the same rows as a CSV land in the same splits: the split follows content, not the file's format
    wine.to_csv(tmp_path / "wine.csv", index=False)
    again = ingest_csv(str(tmp_path / "wine.csv"), "cultivar", _splits(tmp_path, "csv"))
    assert again.rows == result.rows


def test_the_engine_split_is_the_query_the_pandas_helper_runs(tmp_path):
    wine = _wine()
    expected = pd.Series(assign_splits(wine, 0.2, 0.1)).value_counts().to_dict()
    with duckdb.connect() as con:
        con.register("wine", wine)
        sql = Q.split_sql("wine", list(wine.columns), "cultivar", 0.2, 0.1)
        counts = dict(con.execute(f"SELECT {Q.SPLIT_COLUMN}, COUNT(*) FROM ({sql}) GROUP BY 1").fetchall())
    assert counts == expected
    bigquery = Q.bigquery_split_sql("`project.dataset.wine`", list(wine.columns), "cultivar", 0.2, 0.1)
    assert "FARM_FINGERPRINT(TO_JSON_STRING(STRUCT(" in bigquery and "FROM `project.dataset.wine`" in bigquery
    assert "THEN 'train'" in bigquery and "hash(" not in bigquery.lower().replace("farm_fingerprint", "")
    stats = Q.bigquery_statistics_sql("`p.d.t`", ["alcohol"], ["grade"])
    assert "APPROX_QUANTILES(" in stats["numeric"] and "IS_INF(" in stats["numeric"]


def test_parquet_statistics_match_the_csv_statistics_with_exact_quantiles(tmp_path):
    frame = _wine()
    frame["grade"] = np.where(frame["alcohol"] > 13, "high", "low")
    frame.loc[::7, "magnesium"] = np.nan
    frame.to_csv(tmp_path / "wine.csv", index=False)
    ours = compute_statistics(_shards(frame, tmp_path / "wine")).datasets[0]
    today = compute_statistics(tmp_path / "wine.csv").datasets[0]
    assert ours.num_examples == today.num_examples == len(frame)
    by_name = {feature_name(f): f for f in today.features}
    for feature in ours.features:
        other = by_name[feature_name(feature)]
        assert feature.type == other.type, feature_name(feature)
        if feature.HasField("num_stats"):
            mine, theirs = feature.num_stats, other.num_stats
            assert mine.common_stats.num_missing == theirs.common_stats.num_missing
            assert (mine.min, mine.max) == (theirs.min, theirs.max)
            assert mine.mean == pytest.approx(theirs.mean) and mine.std_dev == pytest.approx(theirs.std_dev)
            values = frame[feature_name(feature)].dropna()
            assert mine.median == pytest.approx(float(np.median(values)))
            assert sum(b.sample_count for b in mine.histograms[0].buckets) == len(values)
        else:
            assert feature.string_stats.unique == other.string_stats.unique == 2
            assert [v.frequency for v in feature.string_stats.top_values] == \
                [v.frequency for v in other.string_stats.top_values]


def test_sklearn_training_reads_a_stated_seeded_sample_when_the_table_is_too_big(tmp_path):
    folder = _shards(_wine(), tmp_path / "wine")
    frame, sampling = sample_table(folder, max_rows=100, seed=3)
    again, _ = sample_table(folder, max_rows=100, seed=3)
    assert len(frame) == 100 and sampling.total_rows == 178
    pd.testing.assert_frame_equal(frame, again)
    assert sampling.as_metadata()["sample_policy"].startswith("uniform reservoir sample of 100 rows")
    whole, everything = sample_table(folder)
    assert len(whole) == 178 and everything.policy == "all rows"


def test_preflight_of_parquet_reads_the_schema_and_first_rows_only(tmp_path):
    folder = _shards(pd.concat([_wine()] * 60), tmp_path / "wine", parts=2)  # 10,680 rows: past the sample
    (folder / "part-9.parquet").write_bytes(b"PAR1 not really parquet")  # a bad shard the pre-flight never opens
    checked = preflight(folder, "cultivar")
    assert "alcohol" in checked.columns and checked.sample_rows > 0
    with pytest.raises(InputError, match="label column 'price' not found"):
        preflight(folder, "price")
    with pytest.raises(InputError, match="part-9.parquet|not a readable Parquet|cannot read"):
        ingest_csv(str(folder), "cultivar", _splits(tmp_path))
    with pytest.raises(InputError, match="no Parquet files"):
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "notes.txt").write_text("no tables here")
        resolve(tmp_path / "empty")


def test_gs_sources_are_read_through_a_loopback_cloud_storage(tmp_path, monkeypatch):
    wine = _wine()
    _shards(wine, tmp_path / "bucket" / "tables" / "wine")
    wine.to_csv(tmp_path / "bucket" / "wine.csv", index=False)
    with FakeGcs(tmp_path) as gcs:
        for key, value in gcs.env.items():
            monkeypatch.setenv(key, value)
        folder = resolve("gs://bucket/tables/wine")
        assert folder.kind == "parquet" and folder.remote and len(folder.files) == 3
        assert preflight("gs://bucket/tables/wine", "cultivar").columns[-1] == "cultivar"
        assert preflight("gs://bucket/wine.csv", "cultivar").complete
        result = ingest_csv("gs://bucket/tables/wine", "cultivar", _splits(tmp_path))
        assert sum(result.rows.values()) == len(wine)
        assert compute_statistics("gs://bucket/tables/wine").datasets[0].num_examples == len(wine)
        assert read_table("gs://bucket/wine.csv").shape == wine.shape
        with pytest.raises(InputError, match="data file not found: gs://bucket/nothing"):
            resolve("gs://bucket/nothing")
    assert any(request.startswith("GET /storage/v1/b/bucket/o") for request in gcs.requests)
    assert os.environ["STORAGE_EMULATOR_HOST"] == gcs.url


@pytest.mark.slow
@pytest.mark.parametrize("where", ["parquet-folder", "gs"])
def test_training_pipeline_runs_on_parquet_shards(where, tmp_path, isolated_home, capfd, monkeypatch):
    from kfp_mlops.pipelines.cli.main import main

    _shards(_wine(), tmp_path / "bucket" / "wine")
    data = str(tmp_path / "bucket" / "wine")
    with FakeGcs(tmp_path) as gcs:
        if where == "gs":
            for key, value in gcs.env.items():
                monkeypatch.setenv(key, value)
            data = "gs://bucket/wine"
        code = main(["run", "training", "--data", data, "--label", "cultivar", "--model-name", "wine"])
    out = capfd.readouterr().out
    assert code == 0, out
    run = sorted((isolated_home / "pipeline_root").glob("training-*"))[-1]
    train = pq.read_table(run / "ingest-data" / "train")
    assert train.num_rows > 100 and "cultivar" in train.column_names
    assert (run / "evaluate-model" / "metrics").is_file()
