"""Evaluations by task type: the registered metrics (:mod:`kfp_mlops.components.core.metrics`), the
confusion matrix, ROC and PR curves, and per-slice metrics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.metrics import CLASSIFICATION, score, truth_values, usable_proba

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_CURVE_POINTS = 200
MISSING_SLICE = "(missing)"


@dataclass
class Curve:
    """A thinned ROC or PR curve: x, y and the decision thresholds."""

    x: list[float]
    y: list[float]
    thresholds: list[float]


@dataclass
class Scored:
    """Per-row truth and predictions, kept so that two models can be compared on the same rows.

    Attributes:
        truth: The labels (text for classification, floats for regression).
        predicted: The predictions, in the same form.
        proba: Class probabilities, columns in the order of ``labels``; None when unusable.
        labels: The model's classes, as text (empty for regression).
    """

    truth: np.ndarray
    predicted: np.ndarray
    proba: np.ndarray | None = None
    labels: list[str] = field(default_factory=list)


@dataclass
class Evaluation:
    """Everything measured on one labelled set."""

    task: str
    rows: int
    metrics: dict[str, float]
    classes: list[str] = field(default_factory=list)
    confusion_matrix: list[list[int]] = field(default_factory=list)
    roc: Curve | None = None
    pr: Curve | None = None
    scored: Scored | None = field(default=None, repr=False, compare=False)


def _thin(indices_count: int, limit: int = MAX_CURVE_POINTS) -> np.ndarray:
    """At most ``limit`` evenly spread indices of a curve, first and last kept."""
    import numpy as np
    if indices_count <= limit:
        return np.arange(indices_count)
    return np.unique(np.linspace(0, indices_count - 1, limit).round().astype(int))


def _finite(values: np.ndarray) -> list[float]:
    # roc_curve's first threshold is +inf; JSON and KFP need finite numbers.
    import numpy as np
    return [float(v) if np.isfinite(v) else 1.0 for v in values]


def _classification(truth: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None,
                    classes: list[Any]) -> Evaluation:
    from sklearn import metrics as m

    # Compared as text: a contract read back from JSON may hold the classes 0 and 1 as "0" and "1".
    truth, predicted = truth.astype(str), predicted.astype(str)
    labels = [str(c) for c in classes] if classes else sorted(set(truth.tolist()) | set(predicted.tolist()))
    unseen = sorted(set(truth.tolist()) - set(labels))  # test classes the model never learned
    shown = labels + unseen
    result = Evaluation(CLASSIFICATION, len(truth), score(CLASSIFICATION, truth, predicted, proba, labels), shown,
                        m.confusion_matrix(truth, predicted, labels=shown).tolist())
    usable = usable_proba(proba, labels, truth)
    result.scored = Scored(truth, predicted, usable, labels)
    if usable is not None and "roc_auc" in result.metrics:
        positive = (truth == labels[1]).astype(int)
        fpr, tpr, roc_t = m.roc_curve(positive, usable[:, 1])
        keep = _thin(len(fpr))
        result.roc = Curve(_finite(fpr[keep]), _finite(tpr[keep]), _finite(roc_t[keep]))
        precision, recall, pr_t = m.precision_recall_curve(positive, usable[:, 1])
        keep = _thin(len(pr_t))
        result.pr = Curve(_finite(recall[keep]), _finite(precision[keep]), _finite(pr_t[keep]))
    return result


def _regression(truth: np.ndarray, predicted: np.ndarray) -> Evaluation:
    import numpy as np
    predicted = predicted.astype("float64")
    return Evaluation("regression", len(truth), score("regression", truth, predicted),
                      scored=Scored(np.asarray(truth, dtype="float64"), predicted))


def score_arrays(task: str, truth: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None = None,
                 classes: list[Any] | None = None) -> Evaluation:
    """Metrics of given predictions (a no-skill baseline's, for instance) on labelled rows."""
    import numpy as np
    if task == "classification":
        return _classification(np.asarray(truth), np.asarray(predicted), proba, list(classes or []))
    return _regression(np.asarray(truth, dtype="float64"), np.asarray(predicted))


def evaluate_frame(predictor: Any, frame: pd.DataFrame, label: str) -> Evaluation:
    """Scores a loaded model on labelled rows.

    Args:
        predictor: A :class:`kfp_mlops.components.core.model_io.Predictor`.
        frame: Rows holding the model's features and the label.
        label: The label column.

    Returns:
        The :class:`Evaluation` for the model's task.

    Raises:
        InputError: If the label or a feature column is missing, or the set is empty.
    """
    import numpy as np
    if frame.empty:
        raise InputError("test data has no rows")
    task = predictor.contract.task
    truth = truth_values(frame, label, task)
    predicted = np.asarray(predictor.predict(frame))
    if task == "classification":
        return _classification(truth, predicted, predictor.predict_proba(frame), predictor.contract.classes)
    return _regression(truth, predicted)


def slice_metrics(predictor: Any, frame: pd.DataFrame, label: str, feature: str) -> dict[str, dict[str, float]]:
    """Metrics of each value of ``feature`` (missing values form the slice ``(missing)``).

    Each slice's dict also holds ``rows``. Slices are scored independently, so
    a slice holding one class has no ROC AUC.

    Raises:
        InputError: If ``feature`` is not a column of the test data.
    """
    if feature not in frame.columns:
        raise InputError(f"slice feature {feature!r} is not a column of the test data; "
                         f"columns: {', '.join(map(str, frame.columns))}")
    import warnings

    keys = frame[feature].astype("string").fillna(MISSING_SLICE)
    result: dict[str, dict[str, float]] = {}
    for value in sorted(keys.unique()):
        part = frame[(keys == value).to_numpy()]
        with warnings.catch_warnings():  # small slices often hold one class; sklearn warns on each metric
            warnings.simplefilter("ignore", UserWarning)
            result[str(value)] = {**evaluate_frame(predictor, part, label).metrics, "rows": float(len(part))}
    return result
