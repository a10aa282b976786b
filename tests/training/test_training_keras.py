"""The Keras trainer on CPU: raw-row serving, SavedModel export, TensorBoard logs, early stopping, devices."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.model_io import load_model
from kfp_mlops.components.training.keras_trainer import parse_hidden_units, train_keras_model
from kfp_mlops.components.training.tensorboard_log import read_scalars


@pytest.fixture(scope="module")
def trained_penguins(tmp_path_factory):
    """One Keras model on the penguins, shared by the tests that only read it."""
    from conftest import PENGUIN_TYPES
    from training_helpers import write_schema

    from kfp_mlops.components.core.tables import bundled_dataset_path

    tmp = tmp_path_factory.mktemp("keras")
    frame = pd.read_csv(bundled_dataset_path()).sample(frac=1.0, random_state=0)
    frame.iloc[:260].to_csv(tmp / "train.csv", index=False)
    frame.iloc[260:].to_csv(tmp / "eval.csv", index=False)
    # island gets a closed domain that includes a value never seen in training
    write_schema(tmp / "schema.pbtxt", PENGUIN_TYPES, domains={"island": ["Biscoe", "Dream", "Torgersen", "Atlantis"]})
    result = train_keras_model(tmp / "train.csv", tmp / "eval.csv", tmp / "schema.pbtxt", tmp / "model", tmp / "tb",
                               "species", epochs=12, learning_rate=0.01, hidden_units="16")
    return tmp, result, frame.iloc[260:]


def test_keras_model_serves_raw_rows_with_its_contract(trained_penguins):
    tmp, result, evaluation = trained_penguins
    assert result.metadata["task"] == "classification"
    assert result.metadata["devices"] == ["/cpu:0"] and result.metadata["strategy"] == "default"
    assert result.metadata["mixed_precision"] is False and result.metadata["rows_per_second"] > 0
    contract = json.loads((tmp / "model" / "feature_contract.json").read_text())
    assert contract["framework"] == "keras" and contract["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    listed = json.loads((tmp / "model" / "model_manifest.json").read_text())["files"]
    assert "model.keras" in listed and "feature_contract.json" in listed
    assert any(name.startswith("saved_model/") for name in listed)  # the SavedModel export is covered too
    predictor = load_model(tmp / "model")  # verified against the manifest first
    raw = evaluation.drop(columns="species")
    accuracy = float(np.mean(predictor.predict(raw) == evaluation["species"].to_numpy()))
    assert accuracy > 0.85
    proba = predictor.predict_proba(raw)
    assert proba.shape == (len(raw), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_missing_values_and_unseen_categories_still_score(trained_penguins):
    tmp, _, evaluation = trained_penguins
    rows = evaluation.drop(columns="species").head(3).copy()
    rows.loc[rows.index[0], "bill_length_mm"] = np.nan
    rows.loc[rows.index[1], "sex"] = None
    rows.loc[rows.index[2], "island"] = "Atlantis"
    rows["year"] = rows["year"].astype(str)
    proba = load_model(tmp / "model").predict_proba(rows)
    assert np.isfinite(proba).all() and proba.shape == (3, 3)


def test_saved_model_export_matches_the_keras_model(trained_penguins):
    import tensorflow as tf

    from kfp_mlops.components.core.keras_io import to_inputs

    tmp, _, evaluation = trained_penguins
    predictor = load_model(tmp / "model")
    rows = evaluation.drop(columns="species").head(8)
    served = tf.saved_model.load(str(tmp / "model" / "saved_model"))
    inputs = {name: tf.constant(value) for name, value in to_inputs(rows, predictor.contract.features).items()}
    np.testing.assert_allclose(served.serve(inputs).numpy(), predictor.predict_proba(rows), rtol=1e-4, atol=1e-6)
    # TF Serving and Vertex call the default signature with one named tensor per feature
    default = served.signatures["serving_default"](**inputs)["output_0"].numpy()
    np.testing.assert_allclose(default, predictor.predict_proba(rows), rtol=1e-4, atol=1e-6)


def test_tensorboard_logs_hold_train_and_validation_scalars(trained_penguins):
    tmp, result, _ = trained_penguins
    train, validation = read_scalars(tmp / "tb" / "train"), read_scalars(tmp / "tb" / "validation")
    assert {"epoch_loss", "epoch_accuracy"} <= set(train)
    assert [step for step, _ in validation["epoch_loss"]] == list(range(result.metadata["epochs_run"]))
    assert min(v for _, v in validation["epoch_loss"]) == pytest.approx(result.metadata["best_val_loss"], rel=1e-5)


def test_regression_stops_early_and_predicts_in_label_units(regression_data, tmp_path):
    train, eval_path, schema, evaluation = regression_data
    result = train_keras_model(train, eval_path, schema, tmp_path / "model", tmp_path / "tb", "target",
                               epochs=300, batch_size=32, learning_rate=0.02, hidden_units="16", export_saved_model=False)
    assert result.metadata["task"] == "regression"
    assert result.metadata["epochs_run"] < 300  # early stopping on validation loss
    predictor = load_model(tmp_path / "model")
    assert predictor.predict_proba(evaluation) is None
    truth = evaluation["target"].to_numpy()
    r2 = 1 - np.sum((predictor.predict(evaluation) - truth) ** 2) / np.sum((truth - truth.mean()) ** 2)
    assert r2 > 0.95
    assert not (tmp_path / "model" / "saved_model").exists()


def test_bad_parameters_name_the_problem(penguins, tmp_path):
    train, eval_path, schema, _ = penguins
    assert parse_hidden_units("64, 32") == [64, 32]
    with pytest.raises(InputError, match="hidden_units.*'64,x'"):
        parse_hidden_units("64,x")
    frame = pd.read_csv(eval_path)
    frame.loc[frame.index[0], "species"] = "Emperor"
    frame.to_csv(tmp_path / "bad_eval.csv", index=False)
    with pytest.raises(InputError, match="not in the training rows: Emperor"):
        train_keras_model(train, tmp_path / "bad_eval.csv", schema, tmp_path / "m", tmp_path / "tb", "species", epochs=1)


def test_vocabulary_comes_from_the_schema_domain_or_the_data_and_is_capped(monkeypatch):
    from tensorflow_metadata.proto.v0 import schema_pb2

    from kfp_mlops.components.training import keras_trainer

    schema = schema_pb2.Schema()
    schema.feature.add(name="city", type=schema_pb2.BYTES).string_domain.value.extend(["Oslo", "Rome", "Lima"])
    schema.feature.add(name="tag", type=schema_pb2.BYTES)
    assert keras_trainer._vocabulary(schema, "city", np.array([["Rome"], [""]], dtype=object)) == ["Oslo", "Rome", "Lima", ""]
    tags = np.array([["b"], ["a"], ["b"], ["c"], ["b"], ["a"]], dtype=object)
    assert keras_trainer._vocabulary(schema, "tag", tags) == ["a", "b", "c"]
    monkeypatch.setattr(keras_trainer, "MAX_VOCABULARY", 2)
    assert keras_trainer._vocabulary(schema, "tag", tags) == ["a", "b"]  # the two most frequent
