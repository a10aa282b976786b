"""Booleans, dates and odd column names through both trainers, the model contract and the real server."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.features import as_bool, cast_frame
from kfp_mlops.components.core.model_io import Feature, load_model
from kfp_mlops.components.core.schema_io import write_schema
from kfp_mlops.components.validation.schema import infer_schema_from_statistics
from kfp_mlops.components.validation.statistics import compute_statistics

ODD = ["body mass/g", "île", "is member", "signup date"]


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    member = rng.random(rows) < 0.5
    day = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, rows), "D")
    mass = rng.normal(4000, 500, rows)
    late = (day - pd.Timestamp("2021-01-01")).days.to_numpy() / 365
    score = 2 * member + 1.5 * (late - 1.5) + (mass - 4000) / 500 + rng.normal(0, 0.5, rows)
    return pd.DataFrame({"body mass/g": mass.round(1), "île": rng.choice(["Île Verte", "Dream"], rows),
                         "is member": member, "signup date": day.strftime("%Y-%m-%d"),
                         "churned": np.where(score > 1.0, "yes", "no")})


@pytest.fixture
def typed(tmp_path):
    """(train.csv, eval.csv, schema.pbtxt) with a boolean, a date and odd column names; schema inferred."""
    _frame(500, 0).to_csv(tmp_path / "train.csv", index=False)
    _frame(150, 1).to_csv(tmp_path / "eval.csv", index=False)
    schema = infer_schema_from_statistics(compute_statistics(tmp_path / "train.csv"), label="churned")
    write_schema(schema, tmp_path / "schema.pbtxt")
    return tmp_path / "train.csv", tmp_path / "eval.csv", tmp_path / "schema.pbtxt"


def test_cast_reads_booleans_and_dates_as_numbers():
    frame = pd.DataFrame({"b": ["True", "false", None, "1"], "d": ["1970-01-11", None, "1970-01-01", "1970-01-02"]})
    cast = cast_frame(frame, [Feature("b", "bool", "numeric"), Feature("d", "date", "numeric", "%Y-%m-%d")])
    np.testing.assert_array_equal(cast["b"].to_numpy(), [1.0, 0.0, np.nan, 1.0])
    np.testing.assert_array_equal(cast["d"].to_numpy(), [10.0, np.nan, 0.0, 1.0])
    with pytest.raises(InputError, match="'b' is boolean.*'maybe'"):
        as_bool(pd.Series(["true", "maybe"]), "b")
    with pytest.raises(InputError, match="'d'.*'%Y-%m-%d'.*'31/01/2024'"):
        cast_frame(pd.DataFrame({"d": ["31/01/2024"]}), [Feature("d", "date", "numeric", "%Y-%m-%d")])


def test_sklearn_model_with_booleans_dates_and_odd_names_passes_infra_validation(typed, tmp_path):
    from kfp_mlops.components.serving.infra import validate_serving
    from kfp_mlops.components.training.sklearn_trainer import train_sklearn_model

    train, evaluation, schema = typed
    trained = train_sklearn_model(train, schema, tmp_path / "model", "churned", estimator="linear")
    kinds = {f.name: (f.dtype, f.kind, f.time_format) for f in trained.contract.features}
    assert kinds == {"body mass/g": ("float", "numeric", ""), "île": ("string", "categorical", ""),
                     "is member": ("bool", "numeric", ""), "signup date": ("date", "numeric", "%Y-%m-%d")}
    model = load_model(tmp_path / "model")
    rows = pd.read_csv(evaluation)
    accuracy = float(np.mean(model.predict(rows) == rows["churned"]))
    assert accuracy > 0.8  # the date and the boolean carry most of the signal
    report = validate_serving(tmp_path / "model", evaluation, "churned", max_examples=20)
    assert report.passed, report.checks


def test_keras_model_with_odd_column_names_trains_and_serves(typed, tmp_path):
    pytest.importorskip("keras")
    from kfp_mlops.components.serving.infra import validate_serving
    from kfp_mlops.components.training.keras_trainer import train_keras_model

    train, evaluation, schema = typed
    trained = train_keras_model(train, evaluation, schema, tmp_path / "model", tmp_path / "tb", "churned",
                                epochs=10, hidden_units="16", export_saved_model=False)
    assert trained.contract.feature_names == ["body mass/g", "île", "is member", "signup date"]
    model = load_model(tmp_path / "model")
    rows = pd.read_csv(evaluation)
    assert float(np.mean(model.predict(rows) == rows["churned"])) > 0.75
    # Inputs are keyed by the user's names, whatever order they come in.
    shuffled = rows[list(reversed(rows.columns))]
    np.testing.assert_allclose(model.predict_proba(shuffled), model.predict_proba(rows), rtol=1e-6)
    report = validate_serving(tmp_path / "model", evaluation, "churned", max_examples=10)
    assert report.passed, report.checks


def test_layer_names_are_safe_unique_and_keep_safe_names():
    from kfp_mlops.components.training.keras_trainer import layer_names

    names = layer_names(["bill_length_mm", "body mass/g", "île", "a b", "a_b_3", "_x", "日本"])
    assert names["bill_length_mm"] == "bill_length_mm"
    assert names["body mass/g"] == "body_mass_g_1" and names["île"] == "ile_2"
    assert len(set(names.values())) == len(names)
    assert all(n[0].isalnum() for n in names.values())


def test_keras_failure_message_carries_the_real_cause():
    from kfp_mlops.components.training.keras_trainer import error_cause

    error = ValueError("Exception encountered when calling Functional.call().\n\n\x1b[1m"
                       "'lookup_body mass/g' is not a valid scope name\x1b[0m\n\n"
                       "Arguments received by Functional.call():\n  • inputs={...}")
    assert error_cause(error) == "ValueError: 'lookup_body mass/g' is not a valid scope name"
