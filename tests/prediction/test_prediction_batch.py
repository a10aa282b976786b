"""Batch prediction scores every row in chunks and records the model version."""
import pandas as pd
import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.tables import bundled_dataset_path
from kfp_mlops.components.prediction.batch import predict_batch


def test_every_row_is_scored_with_probabilities_and_version(tmp_path, penguins_model):
    out = tmp_path / "scored.csv"
    result = predict_batch(penguins_model, bundled_dataset_path(), out, "v7", chunk_rows=100)
    scored = pd.read_csv(out)
    assert result.rows == len(scored) == 344
    assert set(scored["model_version"]) == {"v7"}
    assert {"proba_Adelie", "proba_Chinstrap", "proba_Gentoo"} <= set(scored.columns)
    assert (scored["prediction"] == scored["species"]).mean() > 0.9
    assert sum(result.prediction_counts.values()) == 344


def test_missing_feature_column_is_named(tmp_path, penguins_model):
    data = tmp_path / "partial.csv"
    pd.read_csv(bundled_dataset_path()).drop(columns=["island"]).to_csv(data, index=False)
    with pytest.raises(InputError, match="missing feature column\\(s\\): island"):
        predict_batch(penguins_model, data, tmp_path / "o.csv", "v1")
