"""Data for the level-2 demo: the bundled penguins, then a season measured with recalibrated instruments.

Era 1 is the bundled palmerpenguins data. Era 2 samples the same birds with
new field instruments: bill depth reads about 2.6 mm lower, flippers about
16 mm longer and body mass about 18% heavier. Species are unchanged, so the
era-1 model degrades on era-2 rows (about 0.6 accuracy) while a model
retrained on era-2 rows recovers (about 0.98). Everything is seeded.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kfp_mlops.components.core.tables import BUNDLED_LABEL, bundled_dataset_path


@dataclass
class Level2Data:
    """Paths of the demo's files."""

    initial: Path  # era 1, labelled: trains the first champion
    traffic: Path  # era 2, no label: sent to the endpoint
    fresh: Path  # era 2, labelled later: the new training window
    traffic_truth: Path  # the traffic's labels, arriving after it was served
    label: str = BUNDLED_LABEL


def recalibrated_season(rows: int, seed: int = 11) -> pd.DataFrame:
    """Samples ``rows`` era-2 penguins (labelled) from the bundled data, with shifted instruments."""
    rng = np.random.default_rng(seed)
    base = pd.read_csv(bundled_dataset_path()).dropna(subset=["bill_length_mm"])
    frame = base.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
    frame["bill_length_mm"] = (frame["bill_length_mm"] + rng.normal(0, 0.4, rows)).round(1)
    frame["bill_depth_mm"] = (frame["bill_depth_mm"] - 2.6 + rng.normal(0, 0.3, rows)).round(1)
    frame["flipper_length_mm"] = (frame["flipper_length_mm"] + 16 + rng.normal(0, 2, rows)).round()
    frame["body_mass_g"] = (frame["body_mass_g"] * 1.18 + rng.normal(0, 60, rows)).round(-1)
    frame["year"] = 2012
    return frame


def write_level2_data(folder: str | Path, traffic_rows: int = 300, fresh_rows: int = 900) -> Level2Data:
    """Writes the demo's CSV files into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = Level2Data(folder / "penguins_era1.csv", folder / "traffic_era2.csv", folder / "penguins_era2.csv",
                      folder / "traffic_era2_labelled.csv")
    pd.read_csv(bundled_dataset_path()).to_csv(data.initial, index=False)
    season = recalibrated_season(traffic_rows + fresh_rows)
    season.iloc[:traffic_rows].drop(columns=[BUNDLED_LABEL]).to_csv(data.traffic, index=False)
    season.iloc[:traffic_rows].to_csv(data.traffic_truth, index=False)
    season.iloc[traffic_rows:].to_csv(data.fresh, index=False)
    return data
