"""A real sklearn model directory for the deployment tests and fixtures (a module name unique in the repo)."""
from __future__ import annotations

import pandas as pd


def build_penguin_model(model_dir, frame: pd.DataFrame) -> None:
    """Trains a small sklearn Pipeline on ``frame`` and writes a model directory (skops, contract, manifest)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from kfp_mlops.components.core.model_io import Feature, FeatureContract, save_sklearn_model

    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
    categorical = ["island", "sex"]
    pipeline = Pipeline([
        ("prep", ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore")), categorical),
        ])),
        ("model", LogisticRegression(max_iter=500)),
    ])
    pipeline.fit(frame[numeric + categorical], frame["species"])
    features = [Feature("island", "string", "categorical")] + [
        Feature(n, "int" if n == "year" else "float", "numeric") for n in numeric[:4]
    ] + [Feature("sex", "string", "categorical"), Feature("year", "int", "numeric")]
    save_sklearn_model(pipeline, model_dir, FeatureContract(features=features, label="species", task="classification",
                                                            framework="sklearn", classes=sorted(frame["species"].unique())))
