"""Each anomaly kind, on small crafted frames, checked against a schema inferred from clean data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tensorflow_metadata.proto.v0 import anomalies_pb2

from kfp_mlops.components.core.anomalies import describe_anomalies
from kfp_mlops.components.validation.checks import check_statistics
from kfp_mlops.components.validation.schema import infer_schema_from_statistics
from kfp_mlops.components.validation.statistics import compute_statistics

Kind = anomalies_pb2.AnomalyInfo.Type


def _clean(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(18, 80, rows),
        "income": rng.normal(50_000, 8_000, rows).round(2),
        "city": rng.choice(["paris", "rome", "oslo"], rows),
    })


def _stats(frame: pd.DataFrame, tmp_path, name: str):
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return compute_statistics(path)


def _check(tmp_path, current: pd.DataFrame, **schema_args):
    schema = infer_schema_from_statistics(_stats(_clean(), tmp_path, "clean"), **schema_args)
    result = check_statistics(_stats(current, tmp_path, "current"), schema)
    return result.anomalies


def _kinds(anomalies, column: str) -> list[int]:
    return [r.type for r in anomalies.anomaly_info[column].reason] if column in anomalies.anomaly_info else []


def test_fresh_data_from_the_same_source_passes(tmp_path):
    anomalies = _check(tmp_path, _clean(seed=1))
    assert describe_anomalies(anomalies) == []


def test_missing_and_unexpected_columns(tmp_path):
    current = _clean(seed=1).drop(columns=["city"]).assign(shoe_size=42)
    anomalies = _check(tmp_path, current)
    assert _kinds(anomalies, "city") == [Kind.SCHEMA_MISSING_COLUMN]
    assert _kinds(anomalies, "shoe_size") == [Kind.SCHEMA_NEW_COLUMN]
    assert set(describe_anomalies(anomalies)) == {
        "city: missing column", "shoe_size: unexpected column (not in the schema)"}


def test_type_mismatch(tmp_path):
    current = _clean(seed=1)
    current["age"] = current["age"].astype(str) + " years"
    current["income"] = current["income"] + 0.5  # floats stay valid for a FLOAT column
    anomalies = _check(tmp_path, current)
    assert _kinds(anomalies, "age") == [Kind.INT_TYPE_NOT_INT_STRING]
    assert "age: type mismatch (STRING, schema says INT)" in describe_anomalies(anomalies)
    assert "income" not in anomalies.anomaly_info


def test_fractional_values_in_an_int_column(tmp_path):
    current = _clean(seed=1)
    current["age"] = current["age"] + 0.5
    assert _kinds(_check(tmp_path, current), "age") == [Kind.UNEXPECTED_DATA_TYPE]


def test_new_category_values(tmp_path):
    current = _clean(seed=1)
    current.loc[:4, "city"] = "lima"
    anomalies = _check(tmp_path, current)
    assert _kinds(anomalies, "city") == [Kind.ENUM_TYPE_UNEXPECTED_STRING_VALUES]
    assert "city: new values 'lima' (2.5% of rows)" in describe_anomalies(anomalies)


def test_out_of_range_values_only_with_a_range_in_the_schema(tmp_path):
    current = _clean(seed=1)
    current.loc[0, "age"] = 500
    current.loc[1, "income"] = -1e7
    assert "age" not in _check(tmp_path, current).anomaly_info  # no ranges inferred by default
    anomalies = _check(tmp_path, current, range_margin=0.1)
    assert _kinds(anomalies, "age") == [Kind.INT_TYPE_BIG_INT]
    assert _kinds(anomalies, "income") == [Kind.FLOAT_TYPE_SMALL_FLOAT]
    assert any(line.startswith("age: out of range (max 500 >") for line in describe_anomalies(anomalies))


def test_null_fraction_above_the_schema_limit(tmp_path):
    current = _clean(seed=1)
    current.loc[:3, "income"] = np.nan  # 2 %: within the inferred 5 % slack
    assert "income" not in _check(tmp_path, current).anomaly_info
    current.loc[:39, "income"] = np.nan  # 20 %
    anomalies = _check(tmp_path, current)
    assert _kinds(anomalies, "income") == [Kind.FEATURE_TYPE_LOW_FRACTION_PRESENT]
    assert "income: missing values 20.0% > 5.0% allowed" in describe_anomalies(anomalies)


def test_all_nan_column_is_named(tmp_path):
    current = _clean(seed=1)
    current["income"] = np.nan
    anomalies = _check(tmp_path, current)
    assert _kinds(anomalies, "income") == [Kind.FEATURE_TYPE_NO_VALUES]
    assert "income: no values (every row is empty or NaN)" in describe_anomalies(anomalies)


def test_empty_dataset(tmp_path):
    anomalies = _check(tmp_path, _clean().iloc[:0])
    assert [r.type for r in anomalies.dataset_anomaly_info.reason] == [Kind.DATASET_LOW_NUM_EXAMPLES]
    assert describe_anomalies(anomalies) == ["(dataset): empty dataset (0 rows)"]


def test_label_is_not_expected_when_serving(tmp_path):
    schema = infer_schema_from_statistics(_stats(_clean(), tmp_path, "clean"), label="city")
    serving = _stats(_clean(seed=1).drop(columns=["city"]), tmp_path, "serving")
    assert describe_anomalies(check_statistics(serving, schema, environment="SERVING").anomalies) == []
    assert describe_anomalies(check_statistics(serving, schema, environment="TRAINING").anomalies) == [
        "city: missing column"]


def test_label_must_be_a_column(tmp_path):
    from kfp_mlops.components.core.errors import InputError

    with pytest.raises(InputError, match="label column 'price' not found"):
        infer_schema_from_statistics(_stats(_clean(), tmp_path, "clean"), label="price")


def test_skew_against_training_statistics(tmp_path):
    schema = infer_schema_from_statistics(_stats(_clean(), tmp_path, "clean"))
    serving = _clean(seed=1)
    serving["city"] = "paris"
    result = check_statistics(_stats(serving, tmp_path, "serving"), schema,
                              training=_stats(_clean(seed=2), tmp_path, "training"))
    assert _kinds(result.anomalies, "city") == [Kind.COMPARATOR_L_INFTY_HIGH]
    assert result.skew["city"][1] > 0.6 and result.skew["income"][1] < 0.1
    assert any(line.startswith("city: skew (l_infinity 0.") for line in describe_anomalies(result.anomalies))
    assert not result.drift


def test_serving_checks_every_feature_of_a_schema_inferred_without_a_label(tmp_path):
    """A schema inferred with no label still has TRAINING and SERVING: drifted serving rows are caught."""
    schema = infer_schema_from_statistics(_stats(_clean(), tmp_path, "clean"))
    assert list(schema.default_environment) == ["TRAINING", "SERVING"]
    serving = _clean(seed=1)
    serving["city"] = "paris"
    result = check_statistics(_stats(serving, tmp_path, "serving"), schema,
                              training=_stats(_clean(seed=2), tmp_path, "training"), environment="SERVING")
    assert _kinds(result.anomalies, "city") == [Kind.COMPARATOR_L_INFTY_HIGH]
    assert result.skew["city"][1] > 0.6


def test_a_schema_with_no_environments_has_every_feature_in_every_environment(tmp_path):
    """TFX semantics: no ``default_environment`` means all environments, so nothing is skipped."""
    schema = infer_schema_from_statistics(_stats(_clean(), tmp_path, "clean"), label="city")
    del schema.default_environment[:]
    for feature in schema.feature:
        del feature.not_in_environment[:]
    serving = _stats(_clean(seed=1).drop(columns=["city"]).assign(age=500), tmp_path, "serving")
    schema.feature[0].int_domain.max = 100  # age
    lines = describe_anomalies(check_statistics(serving, schema, environment="SERVING").anomalies)
    assert "city: missing column" in lines and any(line.startswith("age: out of range") for line in lines)
    # in_environment adds a feature to an environment the defaults leave it out of.
    schema.default_environment.extend(["TRAINING"])
    schema.feature[1].in_environment.append("SERVING")  # income
    lines = describe_anomalies(check_statistics(serving, schema, environment="SERVING").anomalies)
    assert lines == []
