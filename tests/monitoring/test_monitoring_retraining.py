"""The retraining decision: drift, decay, both, and neither."""
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from kfp_mlops.components.core.anomalies import (
    DATASET,
    Kind,
    add_anomaly,
    add_measurement,
    new_anomalies,
    write_anomalies,
)
from kfp_mlops.components.monitoring.retraining import decide_retraining, metric_drop

JS = anomalies_pb2.DriftSkewInfo.Measurement.JENSEN_SHANNON_DIVERGENCE


def _anomalies(tmp_path, drift_value=None, issue=False):
    anomalies = new_anomalies(schema_pb2.Schema())
    add_measurement(anomalies, "body_mass_g", skew=False, measure=JS, value=0.02, threshold=0.1)
    if drift_value is not None:
        add_measurement(anomalies, "flipper_length_mm", skew=False, measure=JS, value=drift_value, threshold=0.1)
        if drift_value > 0.1:
            add_anomaly(anomalies, "flipper_length_mm", Kind.COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH,
                        f"drift (jensen_shannon {drift_value} > 0.1)", "drifted")
    if issue:
        add_anomaly(anomalies, DATASET, Kind.DATASET_LOW_NUM_EXAMPLES, "few rows", "few rows")
    path = tmp_path / "anomalies.pbtxt"
    write_anomalies(anomalies, path)
    return path


def test_drift_above_threshold_triggers_retraining(tmp_path):
    decision = decide_retraining(_anomalies(tmp_path, drift_value=0.31))
    assert decision.retrain
    assert decision.drifted_features == {"flipper_length_mm": 0.31}
    assert "flipper_length_mm (0.310)" in decision.reasons[0]
    assert "RETRAIN" in decision.to_markdown()


def test_drift_under_threshold_and_data_issues_do_not_retrain(tmp_path):
    decision = decide_retraining(_anomalies(tmp_path, drift_value=0.05, issue=True))
    assert not decision.retrain
    assert decision.drifted_features == {}
    assert decision.data_issues == ["(dataset): few rows"]


def test_performance_decay_triggers_retraining_without_drift(tmp_path):
    decision = decide_retraining(_anomalies(tmp_path), reference_metrics={"accuracy": 0.97},
                                 current_metrics={"accuracy": 0.80}, max_metric_drop=0.05)
    assert decision.retrain
    assert decision.metric_drop == 0.97 - 0.80
    assert "accuracy decayed by 0.170" in decision.reasons[0]


def test_drift_can_be_reported_without_retraining(tmp_path):
    decision = decide_retraining(_anomalies(tmp_path, drift_value=0.4), retrain_on_drift=False)
    assert not decision.retrain and decision.drifted_features


def test_metric_drop_direction():
    assert metric_drop("rmse", {"rmse": 1.0}, {"rmse": 1.5}) == 0.5
    assert metric_drop("accuracy", {"accuracy": 0.9}, {"accuracy": 0.95}) < 0
    assert metric_drop("accuracy", {}, {"accuracy": 0.9}) is None
