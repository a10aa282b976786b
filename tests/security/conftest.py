"""Fixtures for the attack tests: a real sklearn model directory."""
from __future__ import annotations

import pandas as pd
import pytest
from deployment.deployment_models import build_penguin_model


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A penguins model directory (sklearn Pipeline + feature_contract.json)."""
    from kfp_mlops.components.core.tables import bundled_dataset_path

    frame = pd.read_csv(bundled_dataset_path()).dropna(subset=["species"]).reset_index(drop=True)
    path = tmp_path_factory.mktemp("models") / "penguins"
    build_penguin_model(path, frame)
    return path
