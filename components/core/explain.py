"""Feature attributions that need only a model's ``predict``: global and per row, for every trainer.

- **Global** (evaluation): permutation importance (``sklearn.inspection``) on the raw input
  features: how much a metric drops when one column's values are shuffled across rows.
- **Per row** (the endpoint's ``:explain``, monitoring): *baseline substitution* (occlusion).
  For row ``x`` and feature ``j``, the attribution is ``f(x) - f(x with x_j := b_j)``, where
  ``b`` is the training baseline the model carries in its feature contract (the mean of a
  float feature, the median of an integer one, the most frequent value of any other) and
  ``f`` is the predicted value (regression) or the probability of the class predicted for
  ``x`` (classification). It is exact for what it measures, costs ``features + 1``
  predictions per row in one batch, and is model-agnostic: scikit-learn and Keras alike.
- **Attribution profile**: the mean absolute per-row attribution of each feature over a set
  of rows. The trainers store the profile of the training rows with the model; monitoring
  compares the serving rows' profile with it (attribution drift, as Vertex AI Model
  Monitoring does).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kfp_mlops.components.core.errors import InputError

logger = logging.getLogger(__name__)

METHOD = "baseline substitution (occlusion against the training means/modes)"
PROFILE_ROWS = 200  # rows sampled for an attribution profile
PERMUTATION_ROWS = 2000  # test rows used for permutation importance
PERMUTATION_REPEATS = 5


def _plain(value: Any) -> Any:
    """A JSON-friendly Python scalar."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def feature_baseline(frame: pd.DataFrame, features: list) -> dict[str, Any]:
    """The training baseline per feature: mean (float), median (int), else the most frequent raw value.

    Args:
        frame: Raw training rows.
        features: The model's :class:`~kfp_mlops.components.core.model_io.Feature` list.

    Returns:
        Feature name -> a raw value that can stand in that column (JSON-serializable).
    """
    baseline: dict[str, Any] = {}
    for feature in features:
        column = frame[feature.name]
        numbers = pd.to_numeric(column, errors="coerce") if feature.kind == "numeric" else None
        if feature.dtype == "float" and numbers is not None and numbers.notna().any():
            baseline[feature.name] = float(numbers.mean())
        elif feature.dtype == "int" and numbers is not None and numbers.notna().any():
            baseline[feature.name] = int(round(float(numbers.median())))
        else:
            modes = column.dropna().mode()
            baseline[feature.name] = _plain(modes.iloc[0]) if len(modes) else None
    return baseline


def _output(predictor: Any, frame: pd.DataFrame, classes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(explained output per row, class index per row): the value, or the probability of the row's class."""
    if predictor.contract.task != "classification":
        return np.asarray(predictor.predict(frame), dtype="float64").reshape(-1), None
    proba = np.asarray(predictor.predict_proba(frame), dtype="float64")
    chosen = np.argmax(proba, axis=1) if classes is None else classes
    return proba[np.arange(len(proba)), chosen], chosen


@dataclass
class RowAttributions:
    """Per-row attributions: ``values[i][j]`` is feature ``features[j]``'s share of row ``i``'s output."""

    features: list[str]
    values: np.ndarray
    outputs: np.ndarray
    baseline_output: float
    explained: str
    classes: list[Any] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The KServe V1 ``:explain`` answer: one ``{feature: attribution}`` dict per row, plus context."""
        rows = [{name: float(v) for name, v in zip(self.features, row, strict=True)} for row in self.values]
        answer = {"explanations": rows, "outputs": [float(o) for o in self.outputs],
                  "baseline_output": float(self.baseline_output), "explained_output": self.explained,
                  "method": METHOD}
        if self.classes:
            answer["explained_classes"] = self.classes
        return answer


def row_attributions(predictor: Any, frame: pd.DataFrame, baseline: dict[str, Any] | None = None) -> RowAttributions:
    """Attributes each row's output to its features by substituting the training baseline, one feature at a time.

    Args:
        predictor: A :class:`~kfp_mlops.components.core.model_io.Predictor`.
        frame: Raw rows holding the model's feature columns.
        baseline: Feature -> stand-in value; defaults to the one in the model's contract.

    Returns:
        The attributions, the rows' outputs and the output of the all-baseline row.

    Raises:
        InputError: If the model carries no baseline (trained before explanations) and none is given.
    """
    contract = predictor.contract
    baseline = baseline if baseline is not None else dict(getattr(contract, "baseline", None) or {})
    names = contract.feature_names
    missing = [name for name in names if name not in baseline]
    if missing:
        raise InputError(f"no explanation baseline for feature(s) {', '.join(missing)}: the model was trained before "
                         "explanations existed; retrain it")
    rows = contract.check_frame(frame).reset_index(drop=True)
    count = len(rows)
    if count == 0:
        return RowAttributions(names, np.zeros((0, len(names))), np.zeros(0), 0.0, "", [])
    # One batch: the rows, then per feature the rows with that feature at its baseline, then the baseline row.
    blocks = [rows]
    for name in names:
        block = rows.copy()
        block[name] = pd.Series([baseline[name]] * count, dtype=object)
        blocks.append(block)
    blocks.append(pd.DataFrame([{name: baseline[name] for name in names}], dtype=object))
    batch = pd.concat(blocks, ignore_index=True)
    full, chosen = _output(predictor, rows, None)
    index = None if chosen is None else np.concatenate([np.tile(chosen, len(names) + 1), [0]])
    scored, _ = _output(predictor, batch, index)
    occluded = scored[count:count * (len(names) + 1)].reshape(len(names), count).T
    values = full[:, None] - occluded
    if contract.task == "classification" and chosen is not None:  # chosen: set for classification models
        classes = [_plain(contract.classes[i]) if contract.classes else int(i) for i in chosen]
        explained = "probability of the predicted class"
        base_proba = np.asarray(predictor.predict_proba(batch.iloc[[-1]]), dtype="float64")[0]
        baseline_output = float(base_proba[np.argmax(base_proba)])
    else:
        classes, explained, baseline_output = [], "predicted value", float(scored[-1])
    return RowAttributions(names, values, full, baseline_output, explained, classes)


def attribution_profile(predictor: Any, frame: pd.DataFrame, baseline: dict[str, Any] | None = None,
                        max_rows: int = PROFILE_ROWS, seed: int = 0) -> dict[str, float]:
    """Mean absolute per-row attribution of each feature over (a seeded sample of) ``frame``.

    Returns:
        Feature name -> mean |attribution|.
    """
    rows = frame.sample(n=max_rows, random_state=seed) if len(frame) > max_rows else frame
    result = row_attributions(predictor, rows, baseline)
    means = np.abs(result.values).mean(axis=0) if len(rows) else np.zeros(len(result.features))
    return {name: float(value) for name, value in zip(result.features, means, strict=True)}


def model_profile(predictor: Any, frame: pd.DataFrame, seed: int = 0) -> tuple[dict[str, Any], dict[str, float]]:
    """What a trainer stores in the contract: the baseline of ``frame`` and its attribution profile.

    A failure here never fails training: it is logged, and the model carries no profile.
    """
    baseline = feature_baseline(frame, predictor.contract.features)
    try:
        profile = attribution_profile(predictor, frame, baseline, seed=seed)
    except Exception as error:  # noqa: BLE001 - explanations are an extra, never a reason to lose the model
        logger.warning("no training attribution profile: %s", error)
        profile = {}
    return baseline, profile


class _Fitted:
    """A fitted model as ``sklearn.inspection`` expects one (it checks for ``fit``)."""

    def __init__(self, predictor: Any):
        self.predictor = predictor

    def fit(self, *_: Any) -> _Fitted:  # never called: the model is trained
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.predictor.predict(frame)


@dataclass
class GlobalAttribution:
    """Permutation importance of one raw input feature: mean and spread of the metric's drop."""

    feature: str
    importance: float
    std: float


def permutation_attributions(predictor: Any, frame: pd.DataFrame, truth: np.ndarray, metric: str,
                             repeats: int = PERMUTATION_REPEATS, max_rows: int = PERMUTATION_ROWS,
                             seed: int = 0) -> list[GlobalAttribution]:
    """Permutation importance on the raw features (``sklearn.inspection.permutation_importance``).

    Args:
        predictor: The model.
        frame: Labelled rows (the label column may be present; it is not permuted).
        truth: The rows' labels, as the metric expects them.
        metric: ``accuracy`` (classification) or ``r2`` (regression): higher is better.
        repeats: Shuffles per feature.
        max_rows: A seeded sample of at most this many rows.
        seed: Random seed.

    Returns:
        One entry per feature, most important first.
    """
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import accuracy_score, r2_score

    scorers = {"accuracy": accuracy_score, "r2": r2_score}
    if metric not in scorers:
        raise InputError(f"permutation importance metric must be one of {', '.join(scorers)}, got {metric!r}")
    rows = predictor.contract.check_frame(frame).reset_index(drop=True)
    truth = np.asarray(truth)
    if len(rows) > max_rows:
        keep = np.random.default_rng(seed).choice(len(rows), max_rows, replace=False)
        rows, truth = rows.iloc[keep].reset_index(drop=True), truth[keep]

    def score(_: Any, inputs: pd.DataFrame, target: np.ndarray) -> float:
        predicted = predictor.predict(inputs)
        if metric == "accuracy":
            return float(scorers[metric](np.asarray(target).astype(str), np.asarray(predicted).astype(str)))
        return float(scorers[metric](target, predicted))

    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # many small predictions: OpenMP threads cost more than they give (2 cores)
        result = permutation_importance(_Fitted(predictor), rows, truth, scoring=score, n_repeats=repeats,
                                        random_state=seed, n_jobs=1)
    found = [GlobalAttribution(name, float(mean), float(std))
             for name, mean, std in zip(rows.columns, result.importances_mean, result.importances_std, strict=True)]
    return sorted(found, key=lambda a: -a.importance)
