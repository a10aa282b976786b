"""Test helper: small real model directories (sklearn + feature contract), distinct by a seed."""
from __future__ import annotations

from pathlib import Path


def make_model(model_dir: str | Path, seed: int = 0) -> Path:
    """Saves a tiny logistic regression on iris; each seed gives different files (and sha256)."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from kfp_mlops.components.core.model_io import Feature, FeatureContract, save_sklearn_model

    data = load_iris(as_frame=True).frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    features = [c for c in data.columns if c != "target"]
    sample = data.sample(n=120, random_state=seed)
    model = LogisticRegression(max_iter=300 + seed).fit(sample[features], sample["target"])
    path = Path(model_dir)
    save_sklearn_model(model, path, FeatureContract([Feature(n, "float", "numeric") for n in features], "target",
                                        "classification", "sklearn", [int(c) for c in model.classes_]))
    return path


def iris_frame():
    """Iris with the column names the helper's models use."""
    from sklearn.datasets import load_iris

    return load_iris(as_frame=True).frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
