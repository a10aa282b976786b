"""Fixtures for the training tests: small CSV splits and schemas built with the proto API."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from training_helpers import write_schema

PENGUIN_TYPES = {
    "species": "BYTES", "island": "BYTES", "bill_length_mm": "FLOAT", "bill_depth_mm": "FLOAT",
    "flipper_length_mm": "FLOAT", "body_mass_g": "FLOAT", "sex": "BYTES", "year": "INT",
}


@pytest.fixture
def penguins(tmp_path):
    """(train.csv, eval.csv, schema.pbtxt, eval frame) from the bundled penguins, split 75/25 with a seed."""
    from kfp_mlops.components.core.tables import bundled_dataset_path

    frame = pd.read_csv(bundled_dataset_path()).sample(frac=1.0, random_state=0)
    cut = int(len(frame) * 0.75)
    train, evaluation = frame.iloc[:cut], frame.iloc[cut:]
    train.to_csv(tmp_path / "train.csv", index=False)
    evaluation.to_csv(tmp_path / "eval.csv", index=False)
    schema = write_schema(tmp_path / "schema.pbtxt", PENGUIN_TYPES)
    return tmp_path / "train.csv", tmp_path / "eval.csv", schema, evaluation


@pytest.fixture
def regression_data(tmp_path):
    """A noisy linear target with a categorical offset: (train.csv, eval.csv, schema.pbtxt, eval frame)."""
    rng = np.random.default_rng(7)
    rows = 600
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    y = 3.0 * x1 - 2.0 * x2 + np.select([colour == "red", colour == "green"], [5.0, -5.0], 0.0) + rng.normal(0, 0.1, rows)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, "target": y})
    frame.iloc[:450].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[450:].to_csv(tmp_path / "eval.csv", index=False)
    schema = write_schema(tmp_path / "schema.pbtxt", {"x1": "FLOAT", "x2": "FLOAT", "colour": "BYTES", "target": "FLOAT"})
    return tmp_path / "train.csv", tmp_path / "eval.csv", schema, frame.iloc[450:]
