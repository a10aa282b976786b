"""Fixtures for the evaluation tests: real sklearn models in the model_io contract, and test CSVs."""
from __future__ import annotations

import pandas as pd
import pytest
from evaluation_models import CATEGORICAL, NUMERIC, save_model


@pytest.fixture
def penguins_split(tmp_path):
    """Penguins (no missing label) split in two halves: (train frame, test CSV path, test frame)."""
    from kfp_mlops.components.core.tables import bundled_dataset_path

    frame = pd.read_csv(bundled_dataset_path()).sample(frac=1.0, random_state=0).reset_index(drop=True)
    train, test = frame.iloc[:200], frame.iloc[200:]
    path = tmp_path / "test.csv"
    test.to_csv(path, index=False)
    return train, path, test


@pytest.fixture
def penguin_models(tmp_path, penguins_split):
    """Three penguin classifiers: ``strong`` (all features), ``weak`` (island only), ``dummy`` (majority)."""
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    train = penguins_split[0]
    return {
        "strong": save_model(tmp_path / "strong", train, "species", NUMERIC, CATEGORICAL, LogisticRegression(max_iter=500)),
        "weak": save_model(tmp_path / "weak", train, "species", [], ["island"], LogisticRegression(max_iter=500)),
        "dummy": save_model(tmp_path / "dummy", train, "species", ["bill_length_mm"], [], DummyClassifier()),
    }
