"""Search spaces for tuning: one declaration, read by Optuna locally, Vertex AI Vizier and Katib.

A space maps a hyperparameter to its choices::

    {"learning_rate": {"min": 0.01, "max": 0.3, "log": True},   # a float range (log scale)
     "max_iter": {"min": 50, "max": 300, "type": "int"},        # an integer range
     "max_depth": [3, 6, None],                                 # a list: choose one
     "estimator": ["hist_gradient_boosting", "random_forest"]}  # sklearn only: search estimators too

An empty space means the trainer's default (:data:`DEFAULT_SPACES`). For scikit-learn a
hyperparameter that the chosen estimator does not take is left out of that trial (``max_depth``
for ``linear``). Keras takes ``learning_rate``, ``batch_size``, ``hidden_units`` (a string such as
``"64,32"``) and ``epochs``.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

from kfp_mlops.components.core.errors import InputError

TRAINERS = ("sklearn", "keras")
KERAS_HYPERPARAMETERS = ("learning_rate", "batch_size", "hidden_units", "epochs")
# Default spaces: what is worth searching for each estimator (sklearn) or for the network (Keras).
DEFAULT_SPACES: dict[str, dict[str, Any]] = {
    "hist_gradient_boosting": {
        "learning_rate": {"min": 0.01, "max": 0.3, "log": True},
        "max_iter": {"min": 50, "max": 400, "type": "int"},
        "max_leaf_nodes": {"min": 4, "max": 64, "type": "int", "log": True},
        "min_samples_leaf": {"min": 2, "max": 40, "type": "int", "log": True},
        "l2_regularization": {"min": 1e-4, "max": 10.0, "log": True},
    },
    "random_forest": {
        "n_estimators": {"min": 50, "max": 300, "type": "int"},
        "max_depth": {"min": 2, "max": 24, "type": "int"},
        "min_samples_leaf": {"min": 1, "max": 20, "type": "int", "log": True},
        "max_features": {"min": 0.2, "max": 1.0},
    },
    "linear": {"C": {"min": 1e-3, "max": 100.0, "log": True}, "alpha": {"min": 1e-3, "max": 100.0, "log": True}},
    "keras": {
        "learning_rate": {"min": 1e-4, "max": 3e-2, "log": True},
        "hidden_units": ["32", "64,32", "128,64"],
        "batch_size": [32, 64, 128],
    },
}


@dataclass(frozen=True)
class Dimension:
    """One hyperparameter's domain: ``choices`` (a list), or a ``low``..``high`` range."""

    name: str
    choices: tuple | None = None
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    integer: bool = False

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in the domain."""
        if self.choices is not None:
            return value in self.choices
        return isinstance(value, (int, float)) and self.low <= float(value) <= self.high


def parse_space(space: dict | None, trainer: str = "sklearn", estimator: str = "hist_gradient_boosting"
                ) -> list[Dimension]:
    """Checks a declared space (or picks the default) and returns its dimensions, in name order.

    Raises:
        InputError: For a bad field, a range with min >= max (or min <= 0 on a log scale), or a
            hyperparameter the trainer does not take.
    """
    if trainer not in TRAINERS:
        raise InputError(f"unknown trainer {trainer!r}; expected one of: {', '.join(TRAINERS)}")
    space = space or DEFAULT_SPACES["keras" if trainer == "keras" else estimator]
    dimensions = []
    for name, spec in sorted(space.items()):
        if isinstance(spec, list):
            if not spec:
                raise InputError(f"search space field {name!r} has no choices")
            dimensions.append(Dimension(name, choices=tuple(spec)))
        elif isinstance(spec, dict) and {"min", "max"} <= set(spec):
            low, high, log = float(spec["min"]), float(spec["max"]), bool(spec.get("log"))
            if not low < high or (log and low <= 0):
                raise InputError(f"search space field {name!r}: need min < max (and min > 0 with log), got {spec}")
            dimensions.append(Dimension(name, low=low, high=high, log=log, integer=spec.get("type") == "int"))
        else:
            raise InputError(f"search space field {name!r} must be a list of choices or a {{'min', 'max'}} range, "
                             f"got {spec!r}")
    if trainer == "keras":
        unknown = [d.name for d in dimensions if d.name not in KERAS_HYPERPARAMETERS]
        if unknown:
            raise InputError(f"the Keras trainer takes no hyperparameter(s) {', '.join(unknown)}; "
                             f"it takes: {', '.join(KERAS_HYPERPARAMETERS)}")
    return dimensions


def estimator_takes(estimator: str, task: str) -> set[str]:
    """The keyword arguments of ``estimator``'s scikit-learn class for ``task``."""
    from kfp_mlops.components.training.sklearn_trainer import _estimator_class

    return set(inspect.signature(_estimator_class(estimator, task)).parameters)


def split_trial(params: dict[str, Any], trainer: str, estimator: str, task: str) -> tuple[str, dict[str, Any]]:
    """A trial's raw values -> ``(estimator, hyperparameters the trainer takes)``.

    For scikit-learn, ``estimator`` in ``params`` picks the estimator and values the
    estimator does not take for ``task`` are dropped.
    """
    params = dict(params)
    if trainer == "keras":
        return "dnn", params
    estimator = params.pop("estimator", estimator)
    takes = estimator_takes(estimator, task)
    return estimator, {name: value for name, value in params.items() if name in takes}


def cast_value(dimension: Dimension, text: str) -> Any:
    """A value passed on a command line (Vertex AI, Katib) -> its Python value in ``dimension``."""
    if dimension.choices is not None:
        for choice in dimension.choices:
            if str(choice) == text or (isinstance(choice, (int, float)) and not isinstance(choice, bool)
                                       and _number(text) == choice):
                return choice
        raise InputError(f"{dimension.name}={text!r} is not one of {list(dimension.choices)}")
    value = _number(text)
    if value is None:
        raise InputError(f"{dimension.name}={text!r} is not a number")
    return int(round(value)) if dimension.integer else value


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
