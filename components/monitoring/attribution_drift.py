"""Attribution drift: do the serving rows lean on the features the way the training rows did?

As Vertex AI Model Monitoring does for feature attributions, each side is summarized by an
*attribution profile*: the mean absolute per-row attribution of every feature
(:mod:`kfp_mlops.components.core.explain`, baseline substitution). The training profile is
stored with the model by its trainer; the serving profile is computed on a seeded sample of the
serving rows with the same model and baseline. A feature drifts when its share moves by more
than ``threshold``::

    drift(j) = |serving(j) - training(j)| / sum_k training(k)

Normalizing by the training profile's total makes the distance scale-free (probabilities or
target units alike) and keeps a feature that barely mattered from triggering on noise.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.escaping import markdown_text

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.1
SERVING_ROWS = 500


@dataclass
class AttributionDrift:
    """Per-feature training and serving attribution profiles, their distance, and the verdict."""

    threshold: float
    training: dict[str, float] = field(default_factory=dict)
    serving: dict[str, float] = field(default_factory=dict)
    distance: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    note: str = ""  # why nothing was compared (e.g. a model trained before explanations)

    @property
    def drifted(self) -> dict[str, float]:
        """Features whose distance exceeds the threshold."""
        return {name: value for name, value in self.distance.items() if value > self.threshold}

    def metrics(self) -> dict[str, float]:
        """Scalars for a KFP Metrics artifact."""
        return {"attribution_drifted_features": float(len(self.drifted)),
                "max_attribution_drift": max(self.distance.values(), default=0.0), "serving_rows": float(self.rows)}

    def to_markdown(self) -> str:
        """The comparison as a Markdown section."""
        verdict = "DRIFT" if self.drifted else ("not checked" if self.note else "no drift")
        lines = [f"## Attribution drift: {verdict}", ""]
        if self.note:
            return "\n".join(lines + [f"- {markdown_text(self.note)}", ""])
        lines += [f"Mean |attribution| per feature, training vs {self.rows} serving rows; a feature drifts when its "
                  f"share moves by more than {self.threshold} of the training total.", "",
                  "| feature | training | serving | drift | |", "|---|---|---|---|---|"]
        for name in sorted(self.distance, key=lambda n: -self.distance[n]):
            flag = "DRIFT" if name in self.drifted else ""
            lines.append(f"| {markdown_text(name)} | {self.training.get(name, 0.0):.4f} | "
                         f"{self.serving.get(name, 0.0):.4f} | {self.distance[name]:.4f} | {flag} |")
        return "\n".join(lines + [""])

    def write(self, path: str | os.PathLike) -> None:
        """Writes the comparison as JSON (what ``decide_retraining`` reads back)."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({**asdict(self), "drifted": self.drifted}, indent=2))

    @classmethod
    def read(cls, path: str | os.PathLike) -> AttributionDrift:
        """Reads what :meth:`write` wrote.

        Raises:
            InputError: For a missing or malformed file.
        """
        try:
            data = json.loads(Path(path).read_text())
            data.pop("drifted", None)
            return cls(**data)
        except (OSError, ValueError, TypeError) as error:
            raise InputError(f"{path}: not an attribution drift file ({error})") from error


def compare_profiles(training: dict[str, float], serving: dict[str, float], threshold: float = DEFAULT_THRESHOLD,
                     rows: int = 0) -> AttributionDrift:
    """Compares two attribution profiles feature by feature (see the module's formula)."""
    if threshold <= 0:
        raise InputError(f"attribution drift threshold must be > 0, got {threshold}")
    total = sum(training.values())
    if total <= 0:
        return AttributionDrift(threshold, training, serving, rows=rows,
                                note="the training attribution profile is all zeros: nothing to compare")
    distance = {name: abs(serving.get(name, 0.0) - value) / total for name, value in training.items()}
    return AttributionDrift(threshold, dict(training), dict(serving), distance, rows)


def attribution_drift(predictor: Any, serving: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD,
                      max_rows: int = SERVING_ROWS, seed: int = 0) -> AttributionDrift:
    """Compares the serving rows' attribution profile with the training profile the model carries.

    Args:
        predictor: The served model (``model_io.Predictor``), trained with explanations.
        serving: Serving rows (extra columns are ignored).
        threshold: Largest allowed move of a feature's share of the training attribution total.
        max_rows: A seeded sample of at most this many serving rows.
        seed: Random seed for the sample.

    Returns:
        The comparison; ``note`` says why nothing was compared when the model has no training
        profile or there are no serving rows.
    """
    from kfp_mlops.components.core.explain import attribution_profile

    training = dict(getattr(predictor.contract, "attribution_profile", None) or {})
    if not training:
        return AttributionDrift(threshold, note="the model carries no training attribution profile (trained before "
                                                "explanations existed): retrain it to monitor attributions")
    if serving.empty:
        return AttributionDrift(threshold, training, note="no serving rows")
    try:
        profile = attribution_profile(predictor, serving, max_rows=max_rows, seed=seed)
    except InputError as error:  # e.g. serving rows without a feature: data validation reports it
        return AttributionDrift(threshold, training, note=f"serving rows not comparable: {error}")
    drift = compare_profiles(training, profile, threshold, rows=min(len(serving), max_rows))
    logger.info("attribution drift: %d feature(s) over %s", len(drift.drifted), threshold)
    return drift


def attribution_drift_for_champion(serving_path: str | os.PathLike, registry_uri: str, model_name: str,
                                   threshold: float = DEFAULT_THRESHOLD) -> AttributionDrift:
    """:func:`attribution_drift` for the registry's champion on a serving CSV.

    Raises:
        InputError: For a model with no champion, or serving rows that lack the model's features.
    """
    from kfp_mlops.components.core.registry import open_registry
    from kfp_mlops.components.core.tables import read_csv

    predictor = open_registry(registry_uri).load(model_name, "champion")
    return attribution_drift(predictor, read_csv(serving_path), threshold)
