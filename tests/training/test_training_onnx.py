"""The ONNX export: both trainers, three datasets, checked against the native model on the eval rows."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from training_helpers import write_schema

from kfp_mlops.components.core.manifest import verify_model_dir
from kfp_mlops.components.core.model_io import load_model
from kfp_mlops.components.core.onnx_io import CHECK_FILE, ONNX_FILE


def _dataset(tmp_path, name: str):
    """(train.csv, eval.csv, schema, label, eval frame) with a categorical column, NaNs and odd column names."""
    from sklearn import datasets

    if name == "penguins":
        from kfp_mlops.components.core.tables import bundled_dataset_path

        frame = pd.read_csv(bundled_dataset_path()).rename(columns={"body_mass_g": "body mass/g"})
        label, types, ints = "species", {"species": "BYTES", "island": "BYTES", "sex": "BYTES", "year": "INT"}, ("year",)
    else:
        loader = datasets.load_wine if name == "wine" else datasets.load_diabetes
        data = loader(as_frame=True)
        frame, label = data.frame.rename(columns={"target": "label"}), "label"
        first = frame.columns[0]
        frame["grade é"] = np.where(frame[first] > frame[first].median(), "high", "low")  # a categorical column
        frame.loc[frame.index[::17], "grade é"] = np.nan
        frame.loc[frame.index[::13], frame.columns[1]] = np.nan
        types, ints = {"grade é": "BYTES", "label": "INT" if name == "wine" else "FLOAT"}, ()
    types = {column: types.get(column, "FLOAT") for column in frame.columns}
    frame = frame.sample(frac=1.0, random_state=0)
    cut = int(len(frame) * 0.7)
    frame.iloc[:cut].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[cut:].to_csv(tmp_path / "eval.csv", index=False)
    schema = write_schema(tmp_path / "schema.pbtxt", types, categorical_ints=ints)
    return tmp_path / "train.csv", tmp_path / "eval.csv", schema, label, frame.iloc[cut:]


def _assert_served_by_onnx(model_dir, metadata, rows):
    check = json.loads((model_dir / CHECK_FILE).read_text())
    assert check["passed"], check["reason"]
    assert metadata["onnx_passed"] and metadata["onnx_check_rows"] == len(rows) and metadata["onnx_label_mismatches"] == 0
    assert metadata["onnx_max_abs_diff"] <= 1e-4 + 1e-4 * 400  # the recorded difference is within the stated tolerance
    assert ONNX_FILE in verify_model_dir(model_dir).files  # in the manifest
    onnx, native = load_model(model_dir), load_model(model_dir, native=True)
    assert onnx.runtime == "onnx" and native.runtime == metadata["framework"]
    if metadata["task"] == "classification":
        assert list(onnx.predict(rows)) == list(native.predict(rows))
        np.testing.assert_allclose(onnx.predict_proba(rows), native.predict_proba(rows), rtol=1e-4, atol=1e-4)
    else:
        np.testing.assert_allclose(onnx.predict(rows), native.predict(rows), rtol=1e-4, atol=1e-4)
    one = rows.iloc[[0]].to_dict(orient="records")  # one JSON-typed row, as serving receives it
    assert list(onnx.predict(pd.DataFrame(one))) == list(native.predict(pd.DataFrame(one))) or metadata["task"] != "classification"


SLOW = pytest.mark.slow
SKLEARN_CASES = [  # one per dataset in the default suite, every estimator on every dataset in the slow one
    ("penguins", "hist_gradient_boosting", {"max_iter": 40}),
    ("wine", "linear", {}),
    ("diabetes", "random_forest", {"n_estimators": 10}),
    pytest.param("penguins", "random_forest", {"n_estimators": 20}, marks=SLOW),
    pytest.param("penguins", "linear", {}, marks=SLOW),
    pytest.param("penguins", "hist_gradient_boosting", {}, marks=SLOW),
    pytest.param("wine", "hist_gradient_boosting", {"max_iter": 30}, marks=SLOW),
    pytest.param("wine", "random_forest", {"n_estimators": 20}, marks=SLOW),
    pytest.param("diabetes", "hist_gradient_boosting", {"loss": "poisson", "max_iter": 30}, marks=SLOW),
    pytest.param("diabetes", "hist_gradient_boosting", {"max_iter": 30}, marks=SLOW),
    pytest.param("diabetes", "linear", {}, marks=SLOW),
]


@pytest.mark.parametrize("dataset,estimator,hyperparameters", SKLEARN_CASES)
def test_sklearn_export_predicts_what_the_pipeline_predicts(tmp_path, dataset, estimator, hyperparameters):
    from kfp_mlops.components.training.sklearn_trainer import train_sklearn_model

    train, evaluation, schema, label, rows = _dataset(tmp_path, dataset)
    result = train_sklearn_model(train, schema, tmp_path / "model", label, estimator=estimator,
                                 hyperparameters=hyperparameters, eval_path=evaluation)
    assert result.metadata["train_score_rows"] == result.metadata["rows"]  # small data: every row scored
    _assert_served_by_onnx(tmp_path / "model", result.metadata, rows)


def test_keras_export_predicts_what_the_keras_model_predicts(tmp_path):
    """Three datasets in one test: TensorFlow starts once."""
    from kfp_mlops.components.training.keras_trainer import train_keras_model

    for dataset in ("penguins", "wine", "diabetes"):
        folder = tmp_path / dataset
        folder.mkdir()
        train, evaluation, schema, label, rows = _dataset(folder, dataset)
        result = train_keras_model(train, evaluation, schema, folder / "model", folder / "tb", label, epochs=1,
                                   hidden_units="8", export_saved_model=False,
                                   task="regression" if dataset == "diabetes" else "auto")
        _assert_served_by_onnx(folder / "model", result.metadata, rows)


def test_a_model_the_export_cannot_express_keeps_the_native_path_and_says_why(penguins_model, tmp_path):
    """A pipeline without the trainer's FrameCaster is not exported; loading falls back, naming the reason."""
    from kfp_mlops.components.core.manifest import write_manifest
    from kfp_mlops.components.core.tables import bundled_dataset_path
    from kfp_mlops.components.training.onnx_export import export_onnx

    rows = pd.read_csv(bundled_dataset_path())
    check = export_onnx(load_model(penguins_model), penguins_model, rows)
    write_manifest(penguins_model)
    assert not check.passed and "not a trainer pipeline" in check.reason
    assert not (penguins_model / ONNX_FILE).exists()
    assert json.loads((penguins_model / CHECK_FILE).read_text())["passed"] is False
    predictor = load_model(penguins_model)
    assert predictor.runtime == "sklearn" and len(predictor.predict(rows.head(3))) == 3


def test_runtime_native_turns_the_onnx_path_off(tmp_path, monkeypatch):
    from kfp_mlops.components.training.sklearn_trainer import train_sklearn_model

    train, evaluation, schema, label, rows = _dataset(tmp_path, "penguins")
    train_sklearn_model(train, schema, tmp_path / "model", label, estimator="linear", eval_path=evaluation)
    assert load_model(tmp_path / "model").runtime == "onnx"
    monkeypatch.setenv("KFP_MLOPS_RUNTIME", "native")
    assert load_model(tmp_path / "model").runtime == "sklearn"
