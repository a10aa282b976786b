"""One tuning trial per trainer: fit on the training rows, score on the eval rows, report for pruning.

The same trial functions serve Optuna locally (:mod:`.search`) and the trial containers of
Vertex AI and Katib (:mod:`.trial_main`), which call them with a ``report`` that writes the
metric where the service reads it.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from kfp_mlops.components.core import features as F
from kfp_mlops.components.training.search import KERAS_TRACKS, MIN_PARTIAL_ROWS, PARTIAL_FRACTION, score


class Pruned(Exception):
    """Raised by a trial that its ``should_prune`` callback stopped early."""


@dataclass
class TrialData:
    """The splits of a search, read once: raw frames, labels, features and task."""

    train_path: str
    eval_path: str
    schema_path: str
    label: str
    train: pd.DataFrame
    eval: pd.DataFrame
    y_train: np.ndarray
    y_eval: np.ndarray
    features: list
    task: str


def load_trial_data(train_path: str | os.PathLike, eval_path: str | os.PathLike, schema_path: str | os.PathLike,
                    label: str, task: str = "auto") -> TrialData:
    """Reads the training and eval splits (CSV or Parquet) and the schema once for every trial.

    Raises:
        InputError: For a bad file, schema or label.
    """
    from kfp_mlops.components.core.schema_io import read_schema
    from kfp_mlops.components.core.sources import read_table

    schema = read_schema(schema_path)
    features = F.features_from_schema(schema, label)
    train, evaluation = read_table(train_path), read_table(eval_path)
    F.check_columns(train, features, label, str(train_path))
    F.check_columns(evaluation, features, label, str(eval_path))
    label_type = next(f.type for f in schema.feature if f.name == label)
    task = F.resolve_task(task, train[label], label_type)
    return TrialData(str(train_path), str(eval_path), str(schema_path), label, train, evaluation,
                     F.label_values(train[label], task), F.label_values(evaluation[label], task), features, task)


def sklearn_trial(data: TrialData, estimator: str, hyperparameters: dict, metric: str, seed: int,
                  report: Callable[[float, int], None], should_prune: Callable[[], bool]) -> float:
    """Fits a scikit-learn pipeline (first on a third of the rows, prunable), returns its eval score.

    Raises:
        Pruned: When ``should_prune`` says so after the partial fit.
    """
    from kfp_mlops.components.training.sklearn_trainer import build_pipeline

    order = np.random.default_rng(seed).permutation(len(data.train))
    partial = int(len(order) * PARTIAL_FRACTION)
    sizes = ([partial] if partial >= MIN_PARTIAL_ROWS else []) + [len(order)]
    value = float("nan")
    for step, size in enumerate(sizes):
        rows = order[:size]
        y = data.y_train[rows]
        if data.task == F.CLASSIFICATION and len(np.unique(y)) < len(np.unique(data.y_train)):
            continue  # a class is missing from the partial rows: no comparable score
        model = build_pipeline(data.features, estimator, data.task, hyperparameters, seed)
        model.fit(data.train.iloc[rows], y)
        classes = list(model.classes_) if data.task == F.CLASSIFICATION else []
        value = score(metric, data.task, data.y_eval, lambda m=model: m.predict(data.eval),
                      lambda m=model: m.predict_proba(data.eval), classes)
        report(value, step)
        if step < len(sizes) - 1 and should_prune():
            raise Pruned(f"pruned after fitting {size} of {len(order)} rows: {metric}={value:.4f}")
    return value


def keras_trial(data: TrialData, hyperparameters: dict, metric: str, seed: int,
                report: Callable[[float, int], None], should_prune: Callable[[], bool],
                model_dir: str | os.PathLike | None = None) -> float:
    """Trains the Keras model (reporting the tracked validation metric each epoch), returns its eval score.

    Raises:
        Pruned: When ``should_prune`` stopped training after an epoch.
    """
    import keras

    from kfp_mlops.components.core.model_io import load_model
    from kfp_mlops.components.training.keras_trainer import train_keras_model

    track, transform = KERAS_TRACKS.get(metric, (None, float))
    stopped: list[str] = []

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if track is None or logs is None or track not in logs:
                return
            report(transform(float(logs[track])), epoch)
            if should_prune():
                stopped.append(f"pruned after epoch {epoch + 1}: {track}={float(logs[track]):.4f}")
                self.model.stop_training = True

    params = dict(hyperparameters)
    if "hidden_units" in params:
        params["hidden_units"] = str(params["hidden_units"])
    with tempfile.TemporaryDirectory(prefix="kfp-mlops-trial-") as scratch:
        folder = str(model_dir or os.path.join(scratch, "model"))
        train_keras_model(data.train_path, data.eval_path, data.schema_path, folder, os.path.join(scratch, "tb"),
                          data.label, seed=seed, task=data.task, export_saved_model=False, callbacks=[Report()],
                          **params)
        if stopped:
            raise Pruned(stopped[0])
        predictor = load_model(folder)
        classes = list(predictor.contract.classes)
        return score(metric, data.task, data.y_eval, lambda: predictor.predict(data.eval),
                     lambda: predictor.predict_proba(data.eval), classes)


def run_trial(data: TrialData, trainer: str, estimator: str, hyperparameters: dict[str, Any], metric: str,
              seed: int, report: Callable[[float, int], None] = lambda value, step: None,
              should_prune: Callable[[], bool] = lambda: False) -> float:
    """Runs one trial of either trainer and returns its score on the eval rows."""
    if trainer == "keras":
        return keras_trial(data, hyperparameters, metric, seed, report, should_prune)
    return sklearn_trial(data, estimator, hyperparameters, metric, seed, report, should_prune)
