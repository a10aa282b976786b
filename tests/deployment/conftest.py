"""Fixtures for the deployment tests: a real sklearn model directory on palmerpenguins."""
from __future__ import annotations

import pandas as pd
import pytest
from deployment_models import build_penguin_model


@pytest.fixture(scope="session")
def penguins_frame() -> pd.DataFrame:
    """The bundled palmerpenguins rows that have a label."""
    from kfp_mlops.components.core.tables import bundled_dataset_path

    return pd.read_csv(bundled_dataset_path()).dropna(subset=["species"]).reset_index(drop=True)


@pytest.fixture(scope="session")
def penguin_model_dir(tmp_path_factory, penguins_frame):
    """A model directory: sklearn Pipeline saved to model.joblib plus feature_contract.json."""
    model_dir = tmp_path_factory.mktemp("models") / "penguins"
    build_penguin_model(model_dir, penguins_frame)
    return model_dir


@pytest.fixture(scope="session")
def eval_csv(tmp_path_factory, penguins_frame):
    """An eval split CSV (with NaNs, as ingested) holding the label column."""
    path = tmp_path_factory.mktemp("splits") / "eval.csv"
    penguins_frame.iloc[::5].to_csv(path, index=False)
    return path
