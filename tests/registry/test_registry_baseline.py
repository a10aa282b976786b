"""A registered version carries its training baseline: schema (with environments), statistics, label."""
from __future__ import annotations

import pytest
from registry_models import make_model

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.schema_io import read_schema
from kfp_mlops.components.registry import open_registry
from kfp_mlops.components.registry.baseline import export_baseline, registered_label
from kfp_mlops.components.registry.register import register_artifact
from kfp_mlops.components.validation.checks import check_statistics
from kfp_mlops.components.validation.statistics import compute_statistics, read_statistics
from kfp_mlops.components.validation.validate import generate_statistics, infer_schema


@pytest.fixture
def registered(tmp_path):
    from sklearn.datasets import load_iris

    data = load_iris(as_frame=True).frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    data.to_csv(tmp_path / "train.csv", index=False)
    generate_statistics(tmp_path / "train.csv", tmp_path / "stats.pb")
    infer_schema(tmp_path / "stats.pb", tmp_path / "schema.pbtxt", label="target")
    root = str(tmp_path / "registry")
    version = register_artifact(root, "iris", make_model(tmp_path / "m"), {}, schema_path=str(tmp_path / "schema.pbtxt"),
                                statistics_path=str(tmp_path / "stats.pb"))
    open_registry(root).promote("iris", version)
    return root, data


def test_the_champion_carries_its_baseline_and_label(tmp_path, registered):
    root, data = registered
    assert registered_label(root, "iris") == "target"
    label = export_baseline(root, "iris", "champion", tmp_path / "out" / "stats.pb", tmp_path / "out" / "schema.pbtxt")
    assert label == "target"
    schema = read_schema(tmp_path / "out" / "schema.pbtxt")
    assert list(schema.default_environment) == ["TRAINING", "SERVING"]
    assert read_statistics(tmp_path / "out" / "stats.pb").datasets[0].num_examples == len(data)
    shifted = data.drop(columns=["target"]).assign(petal_length=data["petal_length"] + 4)
    shifted.to_csv(tmp_path / "serving.csv", index=False)
    result = check_statistics(compute_statistics(tmp_path / "serving.csv"), schema,
                              training=read_statistics(tmp_path / "out" / "stats.pb"), environment="SERVING")
    assert result.skew["petal_length"][1] > 0.5 and "target" not in result.anomalies.anomaly_info
    assert open_registry(root).verify("iris")  # the baseline is inside the registered sha256


def test_drift_threshold_override_and_a_version_without_baseline(tmp_path, registered):
    root, _ = registered
    export_baseline(root, "iris", "v1", tmp_path / "s.pb", tmp_path / "schema.pbtxt", drift_threshold=0.3)
    thresholds = {f.name: f.drift_comparator.jensen_shannon_divergence.threshold
                  for f in read_schema(tmp_path / "schema.pbtxt").feature}
    assert thresholds["petal_length"] == 0.3 and set(thresholds.values()) == {0.3}
    registry = open_registry(root)
    old = registry.register(str(make_model(tmp_path / "old", 1)), "iris").version  # no baseline stored
    with pytest.raises(InputError, match=f"iris {old} carries no training baseline.*--training-data"):
        export_baseline(root, "iris", old, tmp_path / "s.pb", tmp_path / "schema.pbtxt")
    with pytest.raises(InputError, match="not in the registry"):
        registered_label(root, "nope")
