"""Every artifact round-trips through the tensorflow-metadata protos, and the statistics are right."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from kfp_mlops.components.core.anomalies import describe_anomalies, read_anomalies
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.schema_io import read_schema
from kfp_mlops.components.core.tables import bundled_dataset_path
from kfp_mlops.components.validation.statistics import compute_statistics, feature_name, read_statistics
from kfp_mlops.components.validation.validate import generate_statistics, infer_schema, validate


@pytest.fixture()
def artifacts(tmp_path):
    frame = pd.read_csv(bundled_dataset_path()).sample(frac=1.0, random_state=1)  # rows come in male/female pairs
    frame.iloc[::2].to_csv(tmp_path / "a.csv", index=False)
    frame.iloc[1::2].assign(island="Biscoe").to_csv(tmp_path / "b.csv", index=False)
    generate_statistics(tmp_path / "a.csv", tmp_path / "a.pb")
    generate_statistics(tmp_path / "b.csv", tmp_path / "b.pb")
    infer_schema(tmp_path / "a.pb", tmp_path / "schema.pbtxt", label="species")
    validate(tmp_path / "b.pb", tmp_path / "schema.pbtxt", tmp_path / "anomalies.pbtxt", tmp_path / "r.html",
             baseline_statistics_path=tmp_path / "a.pb", training_statistics_path=tmp_path / "a.pb")
    return tmp_path


def test_statistics_round_trip(artifacts):
    raw = (artifacts / "a.pb").read_bytes()
    stats = statistics_pb2.DatasetFeatureStatisticsList.FromString(raw)  # what TFDV's load_stats_binary does
    assert stats.SerializeToString(deterministic=True) == read_statistics(artifacts / "a.pb").SerializeToString(
        deterministic=True)
    again = text_format.Parse(text_format.MessageToString(stats), statistics_pb2.DatasetFeatureStatisticsList())
    assert again == stats
    (artifacts / "a.pbtxt").write_text(text_format.MessageToString(stats))
    assert read_statistics(artifacts / "a.pbtxt") == stats  # text statistics are accepted too


def test_schema_round_trip(artifacts):
    text = (artifacts / "schema.pbtxt").read_text()
    schema = text_format.Parse(text, schema_pb2.Schema())
    assert read_schema(artifacts / "schema.pbtxt") == schema
    assert text_format.MessageToString(schema) == text
    by_name = {f.name: f for f in schema.feature}
    assert by_name["bill_length_mm"].type == schema_pb2.FLOAT
    assert by_name["year"].type == schema_pb2.INT
    assert by_name["island"].type == schema_pb2.BYTES
    assert by_name["bill_length_mm"].drift_comparator.jensen_shannon_divergence.threshold == pytest.approx(0.1)
    assert by_name["island"].skew_comparator.infinity_norm.threshold == pytest.approx(0.1)
    assert not by_name["bill_length_mm"].HasField("float_domain")  # no invented ranges
    domains = {d.name: list(d.value) for d in schema.string_domain}
    assert domains["island"] == ["Biscoe", "Dream", "Torgersen"]
    assert list(schema.default_environment) == ["TRAINING", "SERVING"]
    assert list(by_name["species"].not_in_environment) == ["SERVING"]


def test_anomalies_round_trip(artifacts):
    text = (artifacts / "anomalies.pbtxt").read_text()
    anomalies = text_format.Parse(text, anomalies_pb2.Anomalies())
    assert read_anomalies(artifacts / "anomalies.pbtxt") == anomalies
    assert anomalies.baseline == read_schema(artifacts / "schema.pbtxt")
    assert describe_anomalies(artifacts / "anomalies.pbtxt") == describe_anomalies(anomalies)
    island = anomalies.anomaly_info["island"]
    assert island.severity == anomalies_pb2.AnomalyInfo.ERROR
    assert {r.type for r in island.reason} == {anomalies_pb2.AnomalyInfo.COMPARATOR_L_INFTY_HIGH}
    measured = {tuple(i.path.step): i for i in anomalies.drift_skew_info}
    assert measured[("island",)].drift_measurements[0].type == anomalies_pb2.DriftSkewInfo.Measurement.L_INFTY
    assert measured[("body_mass_g",)].skew_measurements[0].value < 0.1


def test_curated_tfdv_schema_is_read_and_bad_ones_are_named(tmp_path):
    curated = tmp_path / "schema.pbtxt"
    curated.write_text("""
        string_domain { name: "colour" value: "red" value: "blue" }
        feature { name: "colour" type: BYTES domain: "colour"
                  presence { min_fraction: 1.0 min_count: 1 }
                  drift_comparator { infinity_norm { threshold: 0.05 } } }
        feature { name: "size" type: FLOAT float_domain { min: 0 max: 10 }
                  annotation { tag: "curated" } }
        dataset_constraints { min_examples_count: 1 }
    """)
    schema = read_schema(curated)
    assert [f.name for f in schema.feature] == ["colour", "size"]
    (tmp_path / "bad.pbtxt").write_text("feature { name: 'x' typo: FLOAT }")
    with pytest.raises(InputError, match="bad.pbtxt is not a TFX schema.pbtxt"):
        read_schema(tmp_path / "bad.pbtxt")
    (tmp_path / "notype.pbtxt").write_text("feature { name: 'x' }")
    with pytest.raises(InputError, match="feature 'x' has no type"):
        read_schema(tmp_path / "notype.pbtxt")


def test_statistics_match_pandas_with_small_blocks_and_sample(tmp_path):
    rng = np.random.default_rng(3)
    rows = 60_000
    frame = pd.DataFrame({"x": rng.normal(5, 2, rows), "k": rng.integers(0, 7, rows),
                          "s": rng.choice(["u", "v", "w"], rows, p=[0.5, 0.3, 0.2])})
    frame.loc[rng.choice(rows, 600, replace=False), "x"] = np.nan
    frame.to_csv(tmp_path / "d.csv", index=False)
    stats = compute_statistics(tmp_path / "d.csv", block_size=1 << 16, sample_size=5_000)
    dataset = stats.datasets[0]
    features = {feature_name(f): f for f in dataset.features}
    assert dataset.num_examples == rows
    x = features["x"].num_stats
    assert x.common_stats.num_missing == 600 and x.common_stats.num_non_missing == rows - 600
    assert x.mean == pytest.approx(frame["x"].mean(), rel=1e-9)
    assert x.std_dev == pytest.approx(frame["x"].std(ddof=0), rel=1e-9)
    assert (x.min, x.max) == (frame["x"].min(), frame["x"].max())
    assert x.median == pytest.approx(frame["x"].median(), abs=0.1)  # from the sample
    for histogram in x.histograms:
        assert sum(b.sample_count for b in histogram.buckets) == pytest.approx(rows - 600)
    k = features["k"].num_stats
    assert features["k"].type == statistics_pb2.FeatureNameStatistics.INT
    assert k.num_zeros == int((frame["k"] == 0).sum())
    s = features["s"].string_stats
    assert s.unique == 3 and s.top_values[0].value == "u"
    assert s.top_values[0].frequency == (frame["s"] == "u").sum()
    assert s.avg_length == pytest.approx(1.0)


def test_dates_bools_and_infinities(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("day,flag,x\n2024-01-01,true,inf\n2024-01-02,false,3\n,true,\n")
    features = {feature_name(f): f for f in compute_statistics(path).datasets[0].features}
    kinds = statistics_pb2.FeatureNameStatistics
    assert features["day"].type == kinds.STRING and features["day"].string_stats.common_stats.num_missing == 1
    assert features["flag"].type == kinds.INT and features["flag"].num_stats.mean == pytest.approx(2 / 3)
    x = features["x"]
    assert x.type == kinds.FLOAT  # inf is a float, though the finite values are whole
    assert x.num_stats.common_stats.num_non_missing == 2 and x.num_stats.mean == 3.0
