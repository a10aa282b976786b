"""The dataset matrix: small CSVs built offline, from sklearn's bundled sets and seeded generators.

Each :class:`Case` writes one CSV and names its label, task and trainer. The
sklearn sets ship inside scikit-learn (no download); the synthetic ones are
seeded, so every run sees the same rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

SEED = 7


@dataclass(frozen=True)
class Case:
    """One dataset of the matrix."""

    name: str
    task: str  # "binary" | "multiclass" | "regression"
    label: str
    build: Callable[[], pd.DataFrame]
    trainer: str = "sklearn"
    skill: bool = True  # False: the features are noise, no model should beat the no-skill baseline

    def write(self, folder: Path) -> Path:
        """Writes the dataset as ``<folder>/<name>.csv`` and returns the path."""
        path = Path(folder) / f"{self.name}.csv"
        self.build().to_csv(path, index=False)
        return path


def _bundled(loader: str, label: str, rename: Callable[[str], str] = str) -> Callable[[], pd.DataFrame]:
    def build() -> pd.DataFrame:
        from sklearn import datasets

        bunch = getattr(datasets, loader)(as_frame=True)
        frame = bunch.frame.rename(columns=lambda c: rename(str(c)))
        return frame.rename(columns={rename("target"): label})

    return build


def mixed_types(rows: int = 900, seed: int = SEED) -> pd.DataFrame:
    """Binary label driven by a boolean, a date and numbers whose names hold spaces, ``/`` and accents."""
    rng = np.random.default_rng(seed)
    member = rng.random(rows) < 0.4
    start = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, rows), unit="D")
    mass = rng.normal(4000, 600, rows)
    island = rng.choice(["Île Verte", "Dream", "Biscoe"], rows)
    late = (start - pd.Timestamp("2021-01-01")).days.to_numpy() / 365.0
    score = 1.6 * member + 1.2 * (late - 1.5) + (mass - 4000) / 400 + 0.8 * (island == "Dream") \
        + rng.normal(0, 0.7, rows)
    return pd.DataFrame({
        "body mass/g": mass.round(1),
        "île": island,
        "is member": member,
        "signup date": start.strftime("%Y-%m-%d"),
        "last seen": (start + pd.to_timedelta(rng.integers(0, 86400, rows), unit="s")).strftime("%Y-%m-%d %H:%M:%S"),
        "churned": np.where(score > 0.9, "yes", "no"),
    })


def imbalanced_noise(rows: int = 1200, seed: int = SEED) -> pd.DataFrame:
    """95/5 binary label with pure noise features: only a no-skill model can be had."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 6)), columns=[f"noise_{i}" for i in range(6)])
    frame["fraud"] = np.where(rng.random(rows) < 0.05, "fraud", "ok")
    return frame


def imbalanced_signal(rows: int = 2000, seed: int = SEED) -> pd.DataFrame:
    """95/5 binary label that the features do predict."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=rows, n_features=10, n_informative=5, weights=[0.95],
                               class_sep=1.5, flip_y=0.0, random_state=seed)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(10)])
    frame["rare"] = y
    return frame


def missing_labels(rows: int = 800, seed: int = SEED) -> pd.DataFrame:
    """Regression (Friedman #1: non-linear) with 10% of the labels missing, and missing feature values."""
    from sklearn.datasets import make_friedman1

    x, y = make_friedman1(n_samples=rows, n_features=8, noise=0.5, random_state=seed)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(8)])
    rng = np.random.default_rng(seed)
    frame.loc[rng.random(rows) < 0.05, "f0"] = np.nan
    frame["price"] = np.where(rng.random(rows) < 0.10, np.nan, y.round(3))
    return frame


def multiclass_missing_labels(rows: int = 900, seed: int = SEED) -> pd.DataFrame:
    """Three classes, string labels, 8% of them empty."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=rows, n_features=8, n_informative=5, n_classes=3,
                               n_clusters_per_class=1, random_state=seed)
    frame = pd.DataFrame(x, columns=[f"m{i}" for i in range(8)])
    rng = np.random.default_rng(seed)
    frame["kind"] = np.where(rng.random(rows) < 0.08, None, np.array(["red", "green", "blue"])[y])
    return frame


CASES = {case.name: case for case in [
    Case("breast_cancer", "binary", "malignant", _bundled("load_breast_cancer", "malignant")),
    Case("mixed_types", "binary", "churned", mixed_types),
    Case("mixed_types_keras", "binary", "churned", mixed_types, trainer="keras"),
    Case("imbalanced_signal", "binary", "rare", imbalanced_signal),
    Case("imbalanced_noise", "binary", "fraud", imbalanced_noise, skill=False),
    Case("wine", "multiclass", "cultivar", _bundled("load_wine", "cultivar")),
    Case("iris_keras", "multiclass", "species", _bundled("load_iris", "species", lambda c: c.replace(" (cm)", "/cm")),
         trainer="keras"),
    Case("digits", "multiclass", "digit", _bundled("load_digits", "digit")),  # 64 pixel columns
    Case("multiclass_missing_labels", "multiclass", "kind", multiclass_missing_labels),
    Case("diabetes", "regression", "progression", _bundled("load_diabetes", "progression")),
    Case("missing_labels", "regression", "price", missing_labels),
]}
