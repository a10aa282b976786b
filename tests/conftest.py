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

    from kfp_mlops.components.data.ingest import bundled_dataset_path

    path = tmp_path / "penguins.csv"
    shutil.copy(bundled_dataset_path(), path)
    return path
