"""Serving data comes from the prediction log or a CSV, as feature rows."""
import pandas as pd
import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.monitoring.prediction_log import PredictionLogger
from kfp_mlops.components.monitoring.serving_data import collect_serving_data


def test_log_folder_becomes_feature_rows(tmp_path):
    PredictionLogger(tmp_path / "log").log([{"x": 1.0, "c": "a"}, {"x": 2.0, "c": "b"}], ["p", "q"], "v1")
    rows = collect_serving_data(tmp_path / "log", tmp_path / "out.csv")
    frame = pd.read_csv(tmp_path / "out.csv")
    assert rows == 2 and list(frame.columns) == ["x", "c"]


def test_csv_with_label_dropped(tmp_path, penguins_csv):
    rows = collect_serving_data(penguins_csv, tmp_path / "out.csv", drop_columns=("species",))
    assert rows == 344
    assert "species" not in pd.read_csv(tmp_path / "out.csv").columns


def test_missing_source_is_named(tmp_path):
    with pytest.raises(InputError, match="serving data not found: .*nowhere"):
        collect_serving_data(tmp_path / "nowhere", tmp_path / "out.csv")
