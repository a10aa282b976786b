"""The metric registry: one definition of each metric, used by evaluation, tuning and monitoring.

Classification: ``accuracy``, ``balanced_accuracy``, ``f1_macro``,
``precision_macro``, ``recall_macro``, ``log_loss``, and for binary tasks
``roc_auc`` and ``average_precision`` (the area under the PR curve).
Regression: ``rmse``, ``mae``, ``r2``.

``rmse``, ``mae`` and ``log_loss`` are lower-is-better (:data:`LOWER_IS_BETTER`).
Classes are compared as text (a contract read back from JSON may hold the classes
0 and 1 as "0" and "1"), and probabilities are clipped before ``log_loss``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kfp_mlops.components.core.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CLASSIFICATION, REGRESSION = "classification", "regression"
PROBA_CLIP = 1e-15


@dataclass(frozen=True)
class Metric:
    """One metric.

    Attributes:
        name: Its name in reports, gates and tuning.
        task: ``classification`` or ``regression``.
        greater_is_better: False for errors and losses.
        uses: ``labels`` (predicted classes or values), ``proba`` (class probabilities)
            or ``score`` (the positive class's probability; binary tasks only).
    """

    name: str
    task: str
    greater_is_better: bool
    uses: str = "labels"


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("accuracy", CLASSIFICATION, True),
    Metric("balanced_accuracy", CLASSIFICATION, True),
    Metric("f1_macro", CLASSIFICATION, True),
    Metric("precision_macro", CLASSIFICATION, True),
    Metric("recall_macro", CLASSIFICATION, True),
    Metric("log_loss", CLASSIFICATION, False, "proba"),
    Metric("roc_auc", CLASSIFICATION, True, "score"),
    Metric("average_precision", CLASSIFICATION, True, "score"),
    Metric("rmse", REGRESSION, False),
    Metric("mae", REGRESSION, False),
    Metric("r2", REGRESSION, True),
)}
LOWER_IS_BETTER = frozenset(name for name, m in METRICS.items() if not m.greater_is_better)


def higher_is_better(metric: str) -> bool:
    """True unless ``metric`` is an error or a loss (rmse, mae, log_loss)."""
    return metric not in LOWER_IS_BETTER


def metric(name: str, task: str = "") -> Metric:
    """The registered metric ``name``, checked against ``task`` when given.

    Raises:
        InputError: For an unknown metric (listing the known ones) or one for another task.
    """
    if name not in METRICS:
        raise InputError(f"unknown metric {name!r}; expected one of: {', '.join(METRICS)}")
    found = METRICS[name]
    if task and found.task != task:
        raise InputError(f"metric {name!r} is for {found.task}, but the model does {task}")
    return found


def _compute(name: str, truth: np.ndarray, predicted: np.ndarray, proba: Any, labels: list[str]) -> float:
    import numpy as np
    from sklearn import metrics as m

    functions: dict[str, Callable[[], Any]] = {
        "accuracy": lambda: m.accuracy_score(truth, predicted),
        "balanced_accuracy": lambda: m.balanced_accuracy_score(truth, predicted),
        # Macro averages over the classes present (in truth or predictions): a slice holding one
        # class must not be marked down for the classes it does not hold.
        "f1_macro": lambda: m.f1_score(truth, predicted, average="macro", zero_division=0),
        "precision_macro": lambda: m.precision_score(truth, predicted, average="macro", zero_division=0),
        "recall_macro": lambda: m.recall_score(truth, predicted, average="macro", zero_division=0),
        "log_loss": lambda: m.log_loss(truth, np.clip(proba, PROBA_CLIP, 1), labels=labels),
        "roc_auc": lambda: m.roc_auc_score(truth == labels[1], proba[:, 1]),
        "average_precision": lambda: m.average_precision_score(truth == labels[1], proba[:, 1]),
        "rmse": lambda: math.sqrt(m.mean_squared_error(truth, predicted)),
        "mae": lambda: m.mean_absolute_error(truth, predicted),
        "r2": lambda: m.r2_score(truth, predicted) if len(truth) > 1 else float("nan"),
    }
    return float(functions[name]())


def applicable(task: str, truth: np.ndarray, proba: np.ndarray | None, labels: list[str]) -> list[str]:
    """The metrics that can be computed: probability metrics need usable probabilities, ROC AUC
    and average precision a binary task whose truth holds both classes."""
    names = [n for n, m in METRICS.items() if m.task == task and m.uses == "labels"]
    if task != CLASSIFICATION or proba is None:
        return names
    names.append("log_loss")
    if len(labels) == 2 and len(set(truth.tolist())) == 2:
        names += ["roc_auc", "average_precision"]
    return names


def usable_proba(proba: np.ndarray | None, labels: list[str], truth: np.ndarray) -> np.ndarray | None:
    """``proba`` as floats when its columns match ``labels`` and the truth holds no unseen class."""
    import numpy as np
    if proba is None or len(labels) != np.shape(proba)[1] or set(truth.tolist()) - set(labels):
        return None
    return np.asarray(proba, dtype="float64")


def score(task: str, truth: Any, predicted: Any, proba: np.ndarray | None = None,
          labels: list[Any] | None = None, names: list[str] | None = None) -> dict[str, float]:
    """The metrics of predictions on labelled rows.

    Args:
        task: ``classification`` or ``regression``.
        truth: The labels.
        predicted: The predicted classes or values.
        proba: Class probabilities, columns in the order of ``labels`` (classification).
        labels: The model's classes; empty means the classes seen in truth and predictions.
        names: The metrics wanted; default: every one that applies.

    Returns:
        Metric name to value.

    Raises:
        InputError: For an unknown metric, one for another task, or a probability metric
            without usable probabilities.
    """
    import numpy as np
    if task == CLASSIFICATION:
        truth, predicted = np.asarray(truth).astype(str), np.asarray(predicted).astype(str)
        labels = [str(c) for c in labels] if labels else sorted(set(truth.tolist()) | set(predicted.tolist()))
        proba = usable_proba(proba, labels, truth)
    else:
        truth, predicted = np.asarray(truth, dtype="float64"), np.asarray(predicted, dtype="float64")
        labels = []
    possible = applicable(task, truth, proba, labels)
    for name in names or []:
        if metric(name, task).name not in possible:
            raise InputError(f"metric {name!r} needs class probabilities for two classes both present in "
                             "the labels; this model or these rows have none")
    if task == CLASSIFICATION:
        truth, predicted, labels = _as_codes(truth, predicted, labels)
    return {name: _compute(name, truth, predicted, proba, labels) for name in (names or possible)}


def _as_codes(truth: np.ndarray, predicted: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray, list]:
    """Classes as integer codes: scikit-learn finds the classes of every metric call again, and
    sorting integers is far cheaper than sorting text. The codes keep the classes apart, so every
    metric is the same."""
    import numpy as np
    classes = np.array(sorted(set(labels) | set(np.unique(truth).tolist()) | set(np.unique(predicted).tolist())))
    return (np.searchsorted(classes, truth), np.searchsorted(classes, predicted),
            np.searchsorted(classes, np.asarray(labels, dtype=classes.dtype)).tolist())


def truth_values(frame: pd.DataFrame, label: str, task: str) -> np.ndarray:
    """The label column as the model's task reads it.

    Raises:
        InputError: If the label column is missing.
    """
    from kfp_mlops.components.core.features import label_values

    if label not in frame.columns:
        raise InputError(f"test data has no label column {label!r}; columns: {', '.join(map(str, frame.columns))}")
    return label_values(frame[label], task)


def compute_metrics(predictor: Any, frame: pd.DataFrame, label: str,
                    names: list[str] | None = None) -> dict[str, float]:
    """Metrics of a loaded model (a :class:`~kfp_mlops.components.core.model_io.Predictor`) on labelled rows.

    Raises:
        InputError: If the rows are empty, or the label or a feature column is missing.
    """
    if frame.empty:
        raise InputError("test data has no rows")
    task = predictor.contract.task
    truth = truth_values(frame, label, task)
    proba = predictor.predict_proba(frame) if task == CLASSIFICATION else None
    return score(task, truth, predictor.predict(frame), proba, predictor.contract.classes, names)
