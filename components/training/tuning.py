"""Hyperparameter search: trial lists from a declared space, per-trial scores, best-trial choice.

A space maps a hyperparameter to its choices::

    {"estimator": ["random_forest", "hist_gradient_boosting"],  # optional: search estimators too
     "max_depth": [2, 4, 8],                                    # a list: choose one
     "learning_rate": {"min": 0.01, "max": 0.3, "log": True},   # random only: a range
     "max_iter": {"min": 50, "max": 300, "type": "int"}}

``grid`` takes the cartesian product of the lists (a seeded sample of it when it
is larger than ``max_trials``); ``random`` draws ``max_trials`` distinct
trials. A hyperparameter that a trial's estimator does not take is left out of
that trial (``max_depth`` for ``linear``), and duplicates are dropped. Every trial is a dict ``{"trial": i, "estimator": ..., "hyperparameters": {...}}``.
"""
from __future__ import annotations

import itertools
import math
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlops.components.core.errors import InputError

STRATEGIES = ("grid", "random")
MAX_TRIALS_LIMIT = 100
DEFAULT_ESTIMATOR = "hist_gradient_boosting"


def metric_direction(metric: str) -> bool:
    """True when a larger ``metric`` is better.

    Raises:
        InputError: For an unknown metric, listing the known ones.
    """
    from kfp_mlops.components.core.metrics import metric as registered

    return registered(metric).greater_is_better


def _choices(name: str, spec: Any, strategy: str) -> list | dict:
    if isinstance(spec, list):
        if not spec:
            raise InputError(f"search space field {name!r} has no choices")
        return spec
    if isinstance(spec, dict) and {"min", "max"} <= set(spec):
        if strategy == "grid":
            raise InputError(f"search space field {name!r} is a range; grid search needs a list of choices")
        if not spec["min"] < spec["max"] or (spec.get("log") and spec["min"] <= 0):
            raise InputError(f"search space field {name!r}: need min < max (and min > 0 with log), got {spec}")
        return spec
    raise InputError(f"search space field {name!r} must be a list of choices or a {{'min', 'max'}} range, got {spec!r}")


def _draw(spec: list | dict, rng: random.Random) -> Any:
    if isinstance(spec, list):
        return rng.choice(spec)
    low, high = float(spec["min"]), float(spec["max"])
    if spec.get("type") == "int":
        return rng.randint(int(low), int(high))
    if spec.get("log"):
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return rng.uniform(low, high)


def make_trial_list(space: dict, strategy: str = "random", max_trials: int = 8, seed: int = 42) -> list[dict]:
    """Expands a search space into a bounded list of trials.

    Args:
        space: Hyperparameter name -> list of choices or a range (random only).
            An ``estimator`` field searches over estimators.
        strategy: ``grid`` or ``random``.
        max_trials: Most trials (1 to 100).
        seed: Seed for random draws and for sampling a large grid.

    Returns:
        Trials ``{"trial": i, "estimator": name, "hyperparameters": {...}}``.

    Raises:
        InputError: For an unknown strategy, a bad field or trial count.
    """
    if strategy not in STRATEGIES:
        raise InputError(f"unknown search strategy {strategy!r}; expected one of: {', '.join(STRATEGIES)}")
    max_trials = int(max_trials)
    if not 1 <= max_trials <= MAX_TRIALS_LIMIT:
        raise InputError(f"max_trials must be between 1 and {MAX_TRIALS_LIMIT}, got {max_trials}")
    if not space:
        raise InputError("the search space is empty: give at least one hyperparameter and its choices")
    fields = {name: _choices(name, spec, strategy) for name, spec in sorted(space.items())}
    rng = random.Random(int(seed))
    points: dict[str, tuple[str, dict]] = {}
    if strategy == "grid":
        for values in itertools.product(*fields.values()):
            key, point = _point(dict(zip(fields, values)))
            points.setdefault(key, point)
        _check_all_used(fields, points.values())
        keys = list(points)
        if len(keys) > max_trials:
            print(f"[tuning] grid has {len(keys)} points; sampling {max_trials} of them", flush=True)
            keys = [keys[i] for i in sorted(rng.sample(range(len(keys)), max_trials))]
        chosen = [points[key] for key in keys]
    else:
        for _ in range(max_trials * 50):
            key, point = _point({name: _draw(spec, rng) for name, spec in fields.items()})
            points.setdefault(key, point)
            if len(points) == max_trials:
                break
        chosen = list(points.values())
        _check_all_used(fields, chosen)
    return [{"trial": index, "estimator": estimator, "hyperparameters": params}
            for index, (estimator, params) in enumerate(chosen)]


def _point(combo: dict) -> tuple[str, tuple[str, dict]]:
    """(key, (estimator, hyperparameters)), leaving out what the estimator does not take."""
    from kfp_mlops.components.training.sklearn_trainer import accepted_hyperparameters

    estimator = combo.pop("estimator", DEFAULT_ESTIMATOR)
    accepted = accepted_hyperparameters(estimator)
    params = {name: value for name, value in combo.items() if name in accepted}
    return repr((estimator, sorted(params.items()))), (estimator, params)


def _check_all_used(fields: dict, points) -> None:
    used = {name for _, params in points for name in params}
    unused = sorted(set(fields) - used - {"estimator"})
    if unused:
        raise InputError(f"no estimator in the search takes hyperparameter(s): {', '.join(unused)}")


def score_model(model_dir: str | os.PathLike, eval_path: str | os.PathLike, metric: str) -> float:
    """Scores a model directory on labelled rows with ``metric``.

    Raises:
        InputError: For an unknown metric or one that does not fit the model's task.
    """
    from kfp_mlops.components.core.metrics import compute_metrics
    from kfp_mlops.components.core.model_io import load_model
    from kfp_mlops.components.core.tables import read_csv

    metric_direction(metric)
    predictor = load_model(model_dir)
    frame = read_csv(eval_path)
    if predictor.contract.label not in frame.columns:
        raise InputError(f"{eval_path} has no label column {predictor.contract.label!r}")
    return compute_metrics(predictor, frame, predictor.contract.label, [metric])[metric]


def run_trial(
    train_path: str | os.PathLike,
    eval_path: str | os.PathLike,
    schema_path: str | os.PathLike,
    model_dir: str | os.PathLike,
    label: str,
    trial: dict,
    metric: str = "accuracy",
    task: str = "auto",
    seed: int = 42,
) -> tuple[float, dict]:
    """Trains one trial's scikit-learn model and scores it on the eval rows.

    Returns:
        ``(score, metadata)``; the metadata holds the model's, plus ``trial``,
        ``metric``, ``score`` and ``hyperparameters``.
    """
    from kfp_mlops.components.training.sklearn_trainer import train_sklearn_model

    metric_direction(metric)
    index = int(trial.get("trial", 0))
    estimator = trial.get("estimator", DEFAULT_ESTIMATOR)
    params = dict(trial.get("hyperparameters", {}))
    result = train_sklearn_model(train_path, schema_path, model_dir, label, estimator=estimator, task=task,
                                 hyperparameters=params, seed=seed)
    score = score_model(model_dir, eval_path, metric)
    print(f"[tuning] trial {index}: {estimator} {params} -> {metric}={score:.4f}", flush=True)
    metadata = {**result.metadata, "trial": index, "metric": metric, "score": score, "hyperparameters": params}
    return score, metadata


def select_best(
    scores: list[float],
    model_dirs: list[str | os.PathLike],
    model_metadata: list[dict],
    metric: str,
    best_dir: str | os.PathLike,
) -> tuple[dict, dict]:
    """Picks the best trial by ``metric`` and copies its model directory to ``best_dir``.

    The score and parameters of a trial come from its model's metadata, so the
    choice does not depend on the order in which parallel trials are collected;
    ``scores`` (the collected per-trial outputs) must agree with them.

    Returns:
        ``(summary, metadata)``: the summary is ``{"trial", "estimator",
        "hyperparameters", "metric", "score", "scores"}`` where ``scores`` lists
        every trial's score by trial number; the metadata is the chosen model's.

    Raises:
        InputError: For no trials, mismatched inputs or an unknown metric.
    """
    greater = metric_direction(metric)
    if not model_dirs:
        raise InputError("no trials to choose from")
    if not len(scores) == len(model_dirs) == len(model_metadata):
        raise InputError(f"got {len(scores)} scores for {len(model_dirs)} models")
    meta_scores = [float(meta["score"]) for meta in model_metadata]
    if sorted(np.round(meta_scores, 9)) != sorted(np.round([float(s) for s in scores], 9)):
        raise InputError(f"collected scores {scores} do not match the models' scores {meta_scores}")
    values = np.array(meta_scores)
    best = int(np.argmax(values) if greater else np.argmin(values))
    chosen = model_metadata[best]
    if not Path(model_dirs[best]).is_dir():
        raise InputError(f"trial model directory not found: {model_dirs[best]}")
    shutil.rmtree(best_dir, ignore_errors=True)
    shutil.copytree(model_dirs[best], best_dir)
    by_trial = sorted(zip((int(m["trial"]) for m in model_metadata), meta_scores))
    print(f"[tuning] best trial {chosen['trial']} ({chosen['estimator']}): {metric}={values[best]:.4f}", flush=True)
    summary = {
        "trial": int(chosen["trial"]), "estimator": chosen["estimator"],
        "hyperparameters": dict(chosen.get("hyperparameters", {})), "metric": metric,
        "score": float(values[best]), "scores": [score for _, score in by_trial],
    }
    return summary, dict(chosen)

