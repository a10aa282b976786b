"""evaluate_model called as its Python function with real kfp.dsl artifacts: a binary task logs a ROC curve."""
from __future__ import annotations

import json
from pathlib import Path

from evaluation_models import save_model
from kfp import dsl

from kfp_mlops.components.evaluation.component import evaluate_model


def test_binary_model_logs_confusion_matrix_and_roc_curve(tmp_path):
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    data = load_breast_cancer(as_frame=True).frame.sample(frac=1.0, random_state=2)
    features = [c for c in data.columns if c != "target"][:5]
    model_dir = save_model(tmp_path / "model", data.iloc[:300], "target", features, [], LogisticRegression(max_iter=2000))
    data.iloc[300:].to_csv(tmp_path / "test.csv", index=False)

    def artifact(kind, name):
        return kind(name=name, uri=str(tmp_path / "out" / name))

    metrics, classification = artifact(dsl.Metrics, "metrics"), artifact(dsl.ClassificationMetrics, "cm")
    report, attributions = artifact(dsl.Markdown, "report.md"), artifact(dsl.Metrics, "attributions")
    blessed = evaluate_model.python_func(
        model=dsl.Model(name="model", uri=str(model_dir)), test=dsl.Dataset(name="test", uri=str(tmp_path / "test.csv")), label="target",
        metrics=metrics, classification_metrics=classification, report=report, feature_attributions=attributions,
        thresholds={"roc_auc": 0.9, "log_loss": 0.5}, slice_feature="", slice_floors={},
    )
    assert blessed is True
    assert metrics.metadata["roc_auc"] > 0.9 and "average_precision" in metrics.metadata
    assert json.loads(Path(metrics.path).read_text()) == metrics.metadata
    roc = classification.metadata["confidenceMetrics"]
    assert 2 <= len(roc) <= 200 and {"falsePositiveRate", "recall", "confidenceThreshold"} <= set(roc[0])
    specs = classification.metadata["confusionMatrix"]["annotationSpecs"]
    assert [s["displayName"] for s in specs] == ["0", "1"]
    saved = json.loads(Path(classification.path).read_text())
    assert saved["roc"]["x"] == [point["falsePositiveRate"] for point in roc]
    assert "# Evaluation of model: BLESSED" in Path(report.path).read_text()
    # Global attributions: permutation importance of each raw feature, an artifact and a report section.
    assert set(attributions.metadata) == set(features) and max(attributions.metadata.values()) > 0
    assert json.loads(Path(attributions.path).read_text()).keys() == set(features)
    assert "## Feature attributions (permutation importance" in Path(report.path).read_text()
