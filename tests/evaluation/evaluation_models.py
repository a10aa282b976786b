"""Test helper: real sklearn model directories in the model_io contract."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORICAL = ["island", "sex"]


def save_model(model_dir: Path, frame: pd.DataFrame, label: str, numeric: list[str], categorical: list[str],
               estimator, task: str = "classification") -> Path:
    """Fits ``estimator`` behind imputation and encoding on ``frame`` and saves a model directory."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from kfp_mlops.components.core.model_io import Feature, FeatureContract, save_sklearn_model

    parts = []
    if numeric:
        parts.append(("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric))
    if categorical:
        parts.append(("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                           OneHotEncoder(handle_unknown="ignore")), categorical))
    model = make_pipeline(ColumnTransformer(parts), estimator).fit(frame[numeric + categorical], frame[label])
    model_dir.mkdir(parents=True)
    save_sklearn_model(model, model_dir, FeatureContract(
        features=[Feature(n, "float", "numeric") for n in numeric] + [Feature(n, "string", "categorical") for n in categorical],
        label=label, task=task, framework="sklearn",
        classes=list(model.classes_) if task == "classification" else []))
    return model_dir

