"""Metrics by task type: multiclass, binary (ROC/PR), regression, and per-slice metrics."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evaluation_models import save_model

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.model_io import load_model
from kfp_mlops.components.evaluation.metrics import MAX_CURVE_POINTS, evaluate_frame, slice_metrics


def test_multiclass_metrics_and_confusion_matrix(penguin_models, penguins_split):
    _, _, test = penguins_split
    result = evaluate_frame(load_model(penguin_models["strong"]), test, "species")
    assert result.task == "classification" and result.rows == len(test)
    truth, predicted = test["species"].to_numpy(), load_model(penguin_models["strong"]).predict(test)
    assert result.metrics["accuracy"] == pytest.approx(np.mean(truth == predicted))
    assert result.metrics["accuracy"] > 0.95
    assert result.classes == ["Adelie", "Chinstrap", "Gentoo"]
    matrix = np.array(result.confusion_matrix)
    assert matrix.sum() == len(test) and np.trace(matrix) == int(np.sum(truth == predicted))
    assert matrix[result.classes.index("Gentoo")].sum() == int(np.sum(truth == "Gentoo"))
    assert result.roc is None and "roc_auc" not in result.metrics  # ROC/PR only for binary tasks
    assert 0 < result.metrics["log_loss"] < 0.5


def test_binary_task_has_roc_and_pr_curves_capped_in_size(tmp_path):
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    data = load_breast_cancer(as_frame=True).frame.sample(frac=1.0, random_state=1)
    data["target"] = data["target"].map({0: "malignant", 1: "benign"})
    features = [c for c in data.columns if c != "target"][:6]
    train, test = data.iloc[:250], data.iloc[250:]
    model = load_model(save_model(tmp_path / "m", train, "target", features, [], LogisticRegression(max_iter=2000)))
    result = evaluate_frame(model, test, "target")
    positive = model.contract.classes[1]
    expected = roc_auc_score((test["target"] == positive).astype(int), model.predict_proba(test)[:, 1])
    assert result.metrics["roc_auc"] == pytest.approx(expected)
    assert 0.9 < result.metrics["average_precision"] <= 1.0
    assert 2 <= len(result.roc.x) <= MAX_CURVE_POINTS and len(result.roc.x) == len(result.roc.y) == len(result.roc.thresholds)
    assert result.roc.x[0] == 0.0 and result.roc.y[-1] == 1.0
    assert all(np.isfinite(result.roc.thresholds))
    assert len(result.pr.x) <= MAX_CURVE_POINTS


def test_regression_metrics(tmp_path):
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    data = load_diabetes(as_frame=True).frame
    features = [c for c in data.columns if c != "target"]
    train, test = data.iloc[:300], data.iloc[300:]
    model = load_model(save_model(tmp_path / "r", train, "target", features, [], Ridge(), task="regression"))
    result = evaluate_frame(model, test, "target")
    errors = model.predict(test) - test["target"].to_numpy()
    assert result.metrics["rmse"] == pytest.approx(float(np.sqrt(np.mean(errors ** 2))))
    assert result.metrics["mae"] == pytest.approx(float(np.mean(np.abs(errors))))
    assert 0.2 < result.metrics["r2"] < 1
    assert result.confusion_matrix == [] and result.roc is None


def test_slice_metrics_cover_every_value_and_missing(penguin_models, penguins_split):
    _, _, test = penguins_split
    model = load_model(penguin_models["strong"])
    slices = slice_metrics(model, test, "species", "sex")
    assert set(slices) == {"male", "female", "(missing)"}
    assert sum(s["rows"] for s in slices.values()) == len(test)
    female = test[test["sex"] == "female"]
    assert slices["female"]["accuracy"] == pytest.approx(np.mean(model.predict(female) == female["species"].to_numpy()))


def test_unknown_columns_are_named(penguin_models, penguins_split):
    _, _, test = penguins_split
    model = load_model(penguin_models["strong"])
    with pytest.raises(InputError, match="'colour'"):
        slice_metrics(model, test, "species", "colour")
    with pytest.raises(InputError, match="'kind'"):
        evaluate_frame(model, test, "kind")
    with pytest.raises(InputError, match="island"):
        evaluate_frame(model, test.drop(columns="island"), "species")
    with pytest.raises(InputError, match="no rows"):
        evaluate_frame(model, pd.DataFrame(columns=test.columns), "species")


def test_slice_macro_metrics_count_only_the_classes_present(tmp_path, penguin_models, penguins_split):
    _, _, test = penguins_split
    model = load_model(penguin_models["strong"])
    slices = slice_metrics(model, test, "species", "island")
    torgersen = test[test["island"] == "Torgersen"]
    assert set(torgersen["species"]) == {"Adelie"}  # one species lives there
    if slices["Torgersen"]["accuracy"] == 1.0:
        assert slices["Torgersen"]["f1_macro"] == 1.0
    assert slices["Torgersen"]["f1_macro"] >= slices["Torgersen"]["accuracy"] - 0.5


def test_a_class_the_model_never_learned_counts_as_an_error(penguin_models, penguins_split):
    _, _, test = penguins_split
    odd = test.copy()
    odd.loc[odd.index[:5], "species"] = "Emperor"
    result = evaluate_frame(load_model(penguin_models["strong"]), odd, "species")
    assert result.classes[-1] == "Emperor" and sum(result.confusion_matrix[-1]) == 5
    assert "log_loss" not in result.metrics and result.metrics["accuracy"] < 1
