"""Shared fixtures. Every test gets its own KFP_MLOPS_HOME so runs never share state."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Points ``KFP_MLOPS_HOME`` at a temporary folder and isolates HOME (kfp.Client reads ~/.config)."""
    home = tmp_path / "kfp-mlops-home"
    monkeypatch.setenv("KFP_MLOPS_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return home


@pytest.fixture
def penguins_csv(tmp_path):
    """The bundled palmerpenguins CSV, copied to a temporary file."""
    import shutil

    from kfp_mlops.components.core.tables import bundled_dataset_path

    path = tmp_path / "penguins.csv"
    shutil.copy(bundled_dataset_path(), path)
    return path


@pytest.fixture
def penguins_model(tmp_path):
    """A small sklearn model directory trained on the bundled penguins, in the model_io contract."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from kfp_mlops.components.core.model_io import Feature, FeatureContract, save_sklearn_model
    from kfp_mlops.components.core.tables import bundled_dataset_path

    frame = pd.read_csv(bundled_dataset_path())
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    categorical = ["island", "sex"]
    model = make_pipeline(
        ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), categorical),
        ]),
        LogisticRegression(max_iter=500),
    ).fit(frame[numeric + categorical], frame["species"])
    model_dir = tmp_path / "model"
    save_sklearn_model(model, model_dir, FeatureContract(
        features=[Feature(n, "float", "numeric") for n in numeric] + [Feature(n, "string", "categorical") for n in categorical],
        label="species", task="classification", framework="sklearn", classes=list(model.classes_),
    ))
    return model_dir
