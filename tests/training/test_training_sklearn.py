"""The scikit-learn trainer: schema-driven preprocessing, estimators, tasks, seeds and the model contract."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tensorflow_metadata.proto.v0 import schema_pb2

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.features import features_from_schema
from kfp_mlops.components.core.model_io import load_model
from kfp_mlops.components.training.sklearn_trainer import ESTIMATORS, train_sklearn_model
from tests.training.training_helpers import write_schema


def test_features_from_schema_follow_types_and_categorical_ints():
    schema = schema_pb2.Schema()
    schema.feature.add(name="age", type=schema_pb2.INT)
    code = schema.feature.add(name="code", type=schema_pb2.INT)
    code.int_domain.is_categorical = True
    schema.feature.add(name="price", type=schema_pb2.FLOAT)
    schema.feature.add(name="city", type=schema_pb2.BYTES)
    schema.feature.add(name="y", type=schema_pb2.BYTES)
    features = features_from_schema(schema, "y")
    assert [(f.name, f.dtype, f.kind) for f in features] == [
        ("age", "int", "numeric"), ("code", "int", "categorical"),
        ("price", "float", "numeric"), ("city", "string", "categorical"),
    ]
    with pytest.raises(InputError, match="'target' is not in the schema"):
        features_from_schema(schema, "target")


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_classifier_scores_raw_rows_and_saves_contract(penguins, tmp_path, estimator):
    train, _, schema, evaluation = penguins
    result = train_sklearn_model(train, schema, tmp_path / "model", "species", estimator=estimator)
    assert result.metadata["task"] == "classification"
    assert result.metadata["estimator"] == estimator
    contract = json.loads((tmp_path / "model" / "feature_contract.json").read_text())
    assert contract["framework"] == "sklearn"
    assert contract["label"] == "species"
    assert contract["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert {f["name"]: f["kind"] for f in contract["features"]}["island"] == "categorical"
    assert {f["name"]: f["dtype"] for f in contract["features"]}["year"] == "int"
    predictor = load_model(tmp_path / "model")
    raw = evaluation.drop(columns="species")  # NaNs included: the pipeline imputes
    accuracy = float(np.mean(predictor.predict(raw) == evaluation["species"].to_numpy()))
    assert accuracy > 0.9
    proba = predictor.predict_proba(raw)
    assert proba.shape == (len(raw), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_model_accepts_rows_typed_as_json_serving_sends_them(penguins, tmp_path):
    train, _, schema, evaluation = penguins
    train_sklearn_model(train, schema, tmp_path / "model", "species", estimator="linear")
    predictor = load_model(tmp_path / "model")
    rows = evaluation.drop(columns="species").head(20)
    as_json = pd.DataFrame(json.loads(rows.to_json(orient="records")))
    as_json["year"] = as_json["year"].astype(str)  # a client sending numbers as strings
    np.testing.assert_array_equal(predictor.predict(as_json), predictor.predict(rows))


@pytest.mark.parametrize("estimator,floor", [("linear", 0.99), ("random_forest", 0.8), ("hist_gradient_boosting", 0.9)])
def test_regression_on_numeric_label(regression_data, tmp_path, estimator, floor):
    train, _, schema, evaluation = regression_data
    result = train_sklearn_model(train, schema, tmp_path / "model", "target", estimator=estimator)
    assert result.metadata["task"] == "regression"
    predictor = load_model(tmp_path / "model")
    assert predictor.predict_proba(evaluation) is None
    truth = evaluation["target"].to_numpy()
    r2 = 1 - np.sum((predictor.predict(evaluation) - truth) ** 2) / np.sum((truth - truth.mean()) ** 2)
    assert r2 > floor


def test_schema_decides_categorical_int_preprocessing(tmp_path):
    # y is 1 only for the middle code: a linear model cannot separate that from a
    # numeric code, and separates it perfectly from one-hot categories.
    codes = np.tile([1, 2, 3], 100)
    frame = pd.DataFrame({"code": codes, "noise": np.linspace(0, 1, 300), "y": (codes == 2).astype(int)})
    frame.to_csv(tmp_path / "train.csv", index=False)
    accuracy = {}
    for categorical in (False, True):
        schema = write_schema(tmp_path / f"s{categorical}.pbtxt", {"code": "INT", "noise": "FLOAT", "y": "INT"},
                              categorical_ints=("code",) if categorical else ())
        out = tmp_path / f"model-{categorical}"
        train_sklearn_model(tmp_path / "train.csv", schema, out, "y", estimator="linear")
        accuracy[categorical] = float(np.mean(load_model(out).predict(frame) == frame["y"]))
    assert accuracy[True] == 1.0
    assert accuracy[False] < 0.8
    assert load_model(tmp_path / "model-True").contract.classes == [0, 1]


def test_same_seed_same_model_other_seed_other_model(penguins, tmp_path):
    train, _, schema, evaluation = penguins
    raw = evaluation.drop(columns="species")
    proba = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        train_sklearn_model(train, schema, tmp_path / name, "species", estimator="random_forest",
                            hyperparameters={"n_estimators": 10}, seed=seed)
        proba[name] = load_model(tmp_path / name).predict_proba(raw)
    np.testing.assert_array_equal(proba["a"], proba["b"])
    assert not np.array_equal(proba["a"], proba["c"])


def test_hyperparameters_reach_the_estimator_and_json_floats_become_ints(penguins, tmp_path):
    train, _, schema, _ = penguins
    train_sklearn_model(train, schema, tmp_path / "m", "species", estimator="random_forest",
                        hyperparameters={"n_estimators": 7.0, "max_depth": 2.0, "max_features": 1.0})
    forest = load_model(tmp_path / "m", native=True).model[-1]
    assert (forest.n_estimators, forest.max_depth) == (7, 2)
    assert isinstance(forest.n_estimators, int) and forest.max_features == 1.0
    assert max(tree.get_depth() for tree in forest.estimators_) <= 2
    with pytest.raises(InputError, match="unknown hyperparameter 'depth'.*max_depth"):
        train_sklearn_model(train, schema, tmp_path / "x", "species", estimator="random_forest",
                            hyperparameters={"depth": 3})


def test_bad_inputs_name_what_is_wrong(penguins, tmp_path):
    train, _, schema, _ = penguins
    with pytest.raises(InputError, match="unknown estimator 'svm'"):
        train_sklearn_model(train, schema, tmp_path / "m", "species", estimator="svm")
    frame = pd.read_csv(train).drop(columns="island")
    frame.to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(InputError, match="missing column.*island"):
        train_sklearn_model(tmp_path / "short.csv", schema, tmp_path / "m", "species")
    with pytest.raises(InputError, match="needs a numeric label"):
        train_sklearn_model(train, schema, tmp_path / "m", "species", task="regression")
    with pytest.raises(InputError, match="schema file not found"):
        train_sklearn_model(train, tmp_path / "nope.pbtxt", tmp_path / "m", "species")


def test_component_sets_model_metadata(penguins, tmp_path):
    from kfp import dsl

    from kfp_mlops.components.training.component import train_sklearn

    train, _, schema, _ = penguins
    model = dsl.Model(uri=str(tmp_path / "model"))
    train_sklearn.python_func(
        train=dsl.Dataset(uri=str(train)), schema=dsl.Artifact(uri=str(schema)), model=model,
        label="species", estimator="linear", hyperparameters={"C": 0.5},
    )
    assert {k: model.metadata[k] for k in ("framework", "estimator", "task", "label")} == {
        "framework": "sklearn", "estimator": "linear", "task": "classification", "label": "species"}
    assert load_model(tmp_path / "model").contract.framework == "sklearn"


def test_trainers_read_the_schema_the_validation_step_infers(penguins, tmp_path):
    from kfp_mlops.components.validation.validate import generate_statistics, infer_schema

    train, _, _, evaluation = penguins
    generate_statistics(str(train), str(tmp_path / "stats.pb"))
    infer_schema(str(tmp_path / "stats.pb"), str(tmp_path / "schema.pbtxt"), label="species")
    result = train_sklearn_model(train, tmp_path / "schema.pbtxt", tmp_path / "model", "species")
    kinds = {f.name: f.kind for f in result.contract.features}
    assert kinds["island"] == kinds["sex"] == "categorical" and kinds["body_mass_g"] == "numeric"
    assert result.contract.classes == ["Adelie", "Chinstrap", "Gentoo"]
    predictions = load_model(tmp_path / "model").predict(evaluation)
    assert np.mean(predictions == evaluation["species"].to_numpy()) > 0.9


def test_boosted_trees_group_rare_categories_only_when_a_column_has_too_many(tmp_path):
    rng = np.random.default_rng(3)
    rows = 3000
    frame = pd.DataFrame({"x": rng.normal(size=rows), "few": rng.choice(["a", "b", "c"], rows),
                          "many": [f"id{i}" for i in rng.integers(0, 400, rows)]})
    frame["label"] = np.where(frame["x"] + (frame["few"] == "a") > 0.5, "yes", "no")
    types = {"x": "FLOAT", "few": "BYTES", "many": "BYTES", "label": "BYTES"}
    for columns, expected in ((["x", "few", "label"], None), (["x", "few", "many", "label"], 250)):
        frame[columns].to_csv(tmp_path / "train.csv", index=False)
        schema = write_schema(tmp_path / "schema.pbtxt", {c: types[c] for c in columns})
        model_dir = tmp_path / f"model-{len(columns)}"
        train_sklearn_model(tmp_path / "train.csv", schema, model_dir, "label", export_onnx=False)
        encoder = load_model(model_dir).model.steps[1][1].named_transformers_["cat"]
        assert encoder.max_categories == expected  # no per-row counting unless a column needs grouping
        codes = encoder.transform(frame[[c for c in columns if c in ("few", "many")]].to_numpy(dtype=object))
        assert np.nanmax(codes) < 250  # what the booster can take, grouped or not
        predicted = load_model(model_dir).predict(frame.head(500))
        assert np.mean(np.asarray(predicted) == frame["label"].head(500).to_numpy()) > 0.9
