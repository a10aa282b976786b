"""Attribution drift: a shifted feature moves the serving attribution profile and joins the retraining decision."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from kfp import dsl
from tensorflow_metadata.proto.v0 import anomalies_pb2

from kfp_mlops.components.core.model_io import load_model
from kfp_mlops.components.monitoring.attribution_drift import (
    AttributionDrift,
    attribution_drift,
    compare_profiles,
)
from kfp_mlops.components.monitoring.component import check_attribution_drift
from kfp_mlops.components.monitoring.retraining import decide_retraining
from kfp_mlops.components.registry import open_registry

sys.path.insert(0, str(Path(__file__).parents[1] / "training"))
from training_helpers import write_schema  # noqa: E402


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """A random forest on the wine data (3 classes), its held-out rows, and a registry holding it as champion."""
    from sklearn.datasets import load_wine

    from kfp_mlops.components.training.sklearn_trainer import train_sklearn_model

    folder = tmp_path_factory.mktemp("wine")
    frame = load_wine(as_frame=True).frame.sample(frac=1.0, random_state=1)
    frame["target"] = frame["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    frame.iloc[:130].to_csv(folder / "train.csv", index=False)
    write_schema(folder / "schema.pbtxt", {c: "FLOAT" for c in frame.columns} | {"target": "BYTES"})
    train_sklearn_model(folder / "train.csv", folder / "schema.pbtxt", folder / "model", "target",
                        estimator="random_forest", hyperparameters={"n_estimators": 30})
    registry = folder / "registry"
    open_registry(str(registry)).register(str(folder / "model"), "wine", {}, {}, ["champion"])
    return folder, frame.iloc[130:].drop(columns="target"), registry


def test_a_shifted_feature_drifts_and_unshifted_rows_do_not(wine):
    folder, serving, _ = wine
    predictor = load_model(folder / "model")
    same = attribution_drift(predictor, serving, threshold=0.1)
    assert same.drifted == {} and same.rows == len(serving)
    top = max(predictor.contract.attribution_profile, key=predictor.contract.attribution_profile.get)
    shifted = serving.copy()
    shifted[top] = serving[top].min() - 10 * serving[top].std()  # every row far from the training range
    moved = attribution_drift(predictor, shifted, threshold=0.1)
    assert top in moved.drifted, moved.distance
    assert "## Attribution drift: DRIFT" in moved.to_markdown()


def test_attribution_drift_joins_the_decision_and_its_report(wine, tmp_path):
    folder, serving, registry = wine
    predictor = load_model(folder / "model")
    top = max(predictor.contract.attribution_profile, key=predictor.contract.attribution_profile.get)
    shifted = serving.copy()
    shifted[top] = serving[top].min() - 10 * serving[top].std()
    shifted.to_csv(tmp_path / "serving.csv", index=False)
    comparison = dsl.Artifact(name="comparison", uri=str(tmp_path / "comparison.json"))
    metrics = dsl.Metrics(name="metrics", uri=str(tmp_path / "metrics.json"))
    drifted = check_attribution_drift.python_func(
        serving=dsl.Dataset(name="serving", uri=str(tmp_path / "serving.csv")), comparison=comparison,
        metrics=metrics, registry_uri=str(registry), model_name="wine", threshold=0.1)
    assert drifted is True and top in comparison.metadata["drifted"]
    assert metrics.metadata["attribution_drifted_features"] >= 1
    (tmp_path / "anomalies.pb").write_bytes(anomalies_pb2.Anomalies().SerializeToString())
    decision = decide_retraining(tmp_path / "anomalies.pb", attribution_drift_path=comparison.path)
    assert decision.retrain and any(r.startswith("attribution drift above threshold in") for r in decision.reasons)
    assert "## Attribution drift: DRIFT" in decision.to_markdown()
    assert decision.metrics()["attribution_drifted_features"] >= 1
    quiet = decide_retraining(tmp_path / "anomalies.pb", attribution_drift_path=comparison.path, retrain_on_drift=False)
    assert not quiet.retrain and "Attribution drift: DRIFT" in quiet.to_markdown()  # reported, not acted on


def test_profiles_compare_on_the_training_total_and_old_models_are_not_checked():
    drift = compare_profiles({"a": 0.3, "b": 0.1}, {"a": 0.3, "b": 0.2}, threshold=0.2)
    assert drift.distance == pytest.approx({"a": 0.0, "b": 0.25}) and drift.drifted == pytest.approx({"b": 0.25})
    assert AttributionDrift(0.1, note="x").metrics()["attribution_drifted_features"] == 0
