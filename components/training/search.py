"""Local hyperparameter search with Optuna, for both trainers: parallel trials, pruning, seeded.

- **Sampler:** TPE (``optuna.samplers.TPESampler(seed=...)``). Trial 0 is always the trainer's
  default hyperparameters (clipped into the space), so the best trial is never worse than the
  defaults on the eval rows.
- **Pruning (early stopping of bad trials):** Optuna's ``MedianPruner``. A scikit-learn trial is
  first fitted on a third of the training rows and scored; when that score is worse than the
  median of earlier trials at the same point, the trial stops before the full fit. A Keras trial
  reports its validation metric after every epoch and stops training when it falls behind.
- **Parallel trials:** ``study.optimize(n_jobs=N)`` runs scikit-learn trials on N threads, each
  with one BLAS/OpenMP thread. Keras trials run one at a time in-process (TensorFlow's seeds and
  precision policy are process-wide); on Vertex AI and Katib every trial is its own container.
  With N > 1 the order in which trials finish, and so TPE's later suggestions, may vary by run.
- **Score:** ``metric`` on the eval split (``auto``: log_loss for classification, rmse for
  regression). The test split is never seen.
"""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.training.search_space import Dimension, parse_space, split_trial

logger = logging.getLogger(__name__)

AUTO_METRICS = {"classification": "log_loss", "regression": "rmse"}
PARTIAL_FRACTION = 1 / 3  # a scikit-learn trial's first, prunable fit uses this share of the training rows
MIN_PARTIAL_ROWS = 60
MAX_TRIALS = 200
# Keras trial: the objective metric -> (the Keras log that tracks it, transform to the metric's units).
KERAS_TRACKS = {"log_loss": ("val_loss", float), "accuracy": ("val_accuracy", float),
                "rmse": ("val_loss", math.sqrt), "mae": ("val_mae", float)}


@dataclass
class TrialRecord:
    """One trial: its number, state (complete, pruned, failed), score on the eval rows and values."""

    number: int
    state: str
    score: float | None
    params: dict[str, Any]
    seconds: float
    note: str = ""


@dataclass
class TuningResult:
    """The search's outcome: the best trial's estimator and hyperparameters, and every trial."""

    trainer: str
    metric: str
    greater_is_better: bool
    estimator: str
    hyperparameters: dict[str, Any]
    best_trial: int
    best_score: float
    default_score: float | None
    trials: list[TrialRecord] = field(default_factory=list)
    seconds: float = 0.0
    parallel_trials: int = 1
    seed: int = 42

    def count(self, state: str) -> int:
        """How many trials ended in ``state``."""
        return sum(1 for trial in self.trials if trial.state == state)

    def summary(self) -> dict[str, Any]:
        """JSON for the pipeline and the model's metadata: the best trial, its values and score."""
        return {"trainer": self.trainer, "estimator": self.estimator, "hyperparameters": self.hyperparameters,
                "metric": self.metric, "best_trial": self.best_trial, "best_score": self.best_score,
                "default_score": self.default_score, "trials": len(self.trials),
                "pruned": self.count("pruned"), "failed": self.count("failed")}

    def metrics(self) -> dict[str, float]:
        """Scalars for a KFP Metrics artifact: the best score, counts, and every completed trial's score."""
        values = {f"best_{self.metric}": self.best_score, "trials_complete": float(self.count("complete")),
                  "trials_pruned": float(self.count("pruned")), "trials_failed": float(self.count("failed"))}
        if self.default_score is not None:
            values[f"default_{self.metric}"] = self.default_score
        values.update({f"trial_{t.number:03d}_{self.metric}": t.score for t in self.trials if t.score is not None})
        return values

    def to_json(self) -> dict[str, Any]:
        """Everything, for a JSON artifact."""
        return {**self.summary(), "trials": [asdict(t) for t in self.trials], "seconds": self.seconds,
                "parallel_trials": self.parallel_trials, "seed": self.seed}

    def to_markdown(self) -> str:
        """A report: the best trial, then every trial's state, score and values."""
        from kfp_mlops.components.core.escaping import markdown_text as md

        better = "higher" if self.greater_is_better else "lower"
        lines = [f"# Tuning: best trial {self.best_trial}, {self.metric} = {self.best_score:.4f}", "",
                 f"{self.trainer} trainer, {len(self.trials)} trials ({self.count('pruned')} pruned, "
                 f"{self.count('failed')} failed), {self.parallel_trials} in parallel, seed {self.seed}, "
                 f"{self.seconds:.1f} s; {self.metric} on the eval rows ({better} is better).", ""]
        if self.default_score is not None:
            lines += [f"Default hyperparameters (trial 0): {self.metric} = {self.default_score:.4f}.", ""]
        best = ({"estimator": self.estimator} if self.trainer == "sklearn" else {}) | self.hyperparameters
        lines += ["Best: " + md(", ".join(f"{k}={_short(v)}" for k, v in sorted(best.items()))), "",
                  "| trial | state | score | values |", "|---|---|---|---|"]
        for trial in self.trials:
            score = "-" if trial.score is None else f"{trial.score:.4f}"
            mark = " (best)" if trial.number == self.best_trial else ""
            values = ", ".join(f"{k}={_short(v)}" for k, v in sorted(trial.params.items()))
            lines.append(f"| {trial.number}{mark} | {trial.state} | {score} | {md(values or trial.note)} |")
        return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def metric_for(metric: str, task: str) -> tuple[str, bool]:
    """``(metric, greater is better)`` from the metric registry; ``auto`` picks log_loss or rmse.

    Raises:
        InputError: For an unknown metric or one for the other task.
    """
    from kfp_mlops.components.core.metrics import metric as registered

    name = AUTO_METRICS[task] if metric in ("", "auto") else metric
    try:
        found = registered(name, task)
    except InputError as error:
        raise InputError(f"tuning {error}") from None
    return found.name, found.greater_is_better


def score(metric: str, task: str, truth: np.ndarray, predict: Any, proba: Any, classes: list) -> float:
    """``metric`` (the registry's definition) of a model given as ``predict()`` / ``proba()`` on the eval rows."""
    from kfp_mlops.components.core.metrics import METRICS
    from kfp_mlops.components.core.metrics import score as compute

    probabilities = None
    if METRICS[metric].uses != "labels":
        probabilities = np.asarray(proba(), dtype="float64")  # Keras answers float32: rows sum to 1 only roughly
        probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
    return float(compute(task, truth, predict(), probabilities, classes, names=[metric])[metric])


def _suggest(trial: Any, dimension: Dimension) -> Any:
    if dimension.choices is not None:
        return trial.suggest_categorical(dimension.name, list(dimension.choices))
    if dimension.integer:
        return trial.suggest_int(dimension.name, int(dimension.low), int(dimension.high), log=dimension.log)
    return trial.suggest_float(dimension.name, dimension.low, dimension.high, log=dimension.log)


def default_trial(dimensions: list[Dimension], trainer: str, estimator: str, task: str) -> dict[str, Any]:
    """The trainer's default hyperparameters as a point of the space (clipped into ranges)."""
    import inspect

    from kfp_mlops.components.training.sklearn_trainer import _estimator_class

    if trainer == "keras":
        from kfp_mlops.components.training.keras_trainer import train_keras_model

        defaults = {name: p.default for name, p in inspect.signature(train_keras_model).parameters.items()}
    else:
        defaults = {"estimator": estimator} | {
            name: p.default for name, p in inspect.signature(_estimator_class(estimator, task)).parameters.items()}
    point = {}
    for dimension in dimensions:
        value = defaults.get(dimension.name)
        if dimension.choices is not None:
            if value in dimension.choices:
                point[dimension.name] = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = min(max(float(value), dimension.low), dimension.high)
            point[dimension.name] = int(round(value)) if dimension.integer else value
    return point


def tune(
    train_path: str | os.PathLike,
    eval_path: str | os.PathLike,
    schema_path: str | os.PathLike,
    label: str,
    trainer: str = "sklearn",
    space: dict | None = None,
    max_trials: int = 20,
    parallel_trials: int = 2,
    metric: str = "auto",
    estimator: str = "hist_gradient_boosting",
    task: str = "auto",
    seed: int = 42,
    timeout_seconds: float = 0.0,
) -> TuningResult:
    """Searches ``space`` with Optuna and returns the best trial's hyperparameters and every trial.

    Args:
        train_path: Training rows, CSV (each trial fits on them).
        eval_path: Eval rows, CSV (each trial is scored on them).
        schema_path: The TFX schema.
        label: The label column.
        trainer: ``sklearn`` or ``keras``.
        space: The search space (:mod:`.search_space`); empty: the trainer's default.
        max_trials: Most trials, the default-hyperparameters trial included (1 to 200).
        parallel_trials: Trials at once (scikit-learn; Keras trials run one at a time).
        metric: ``auto`` (log_loss or rmse) or a metric name; its direction is known.
        estimator: The scikit-learn estimator when the space does not search ``estimator``.
        task: ``auto``, ``classification`` or ``regression``.
        seed: Seeds the sampler, the partial-fit rows and every trial's model.
        timeout_seconds: Stop starting trials after this long (0: no limit).

    Raises:
        InputError: For bad inputs, or when every trial failed (naming the first failure).
    """
    import optuna
    from threadpoolctl import threadpool_limits

    from kfp_mlops.components.training.search_trials import Pruned, load_trial_data, run_trial

    if not 1 <= int(max_trials) <= MAX_TRIALS:
        raise InputError(f"max_trials must be between 1 and {MAX_TRIALS}, got {max_trials}")
    if int(parallel_trials) < 1:
        raise InputError(f"parallel_trials must be >= 1, got {parallel_trials}")
    dimensions = parse_space(space, trainer, estimator)
    data = load_trial_data(train_path, eval_path, schema_path, label, task)
    metric, greater = metric_for(metric, data.task)
    jobs = 1 if trainer == "keras" else int(parallel_trials)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if greater else "minimize",
        sampler=optuna.samplers.TPESampler(seed=int(seed), n_startup_trials=max(3, min(10, int(max_trials) // 3))),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1 if trainer == "keras" else 0),
    )
    study.enqueue_trial(default_trial(dimensions, trainer, estimator, data.task))
    records: dict[int, TrialRecord] = {}

    def objective(trial: Any) -> float:
        start = time.perf_counter()
        values = {d.name: _suggest(trial, d) for d in dimensions}
        chosen, params = split_trial(values, trainer, estimator, data.task)
        record = TrialRecord(trial.number, "failed", None, values, 0.0)
        records[trial.number] = record
        try:
            value = run_trial(data, trainer, chosen, params, metric, int(seed), trial.report, trial.should_prune)
        except Pruned as stop:
            record.state, record.note = "pruned", str(stop)
            raise optuna.TrialPruned(str(stop)) from None
        except Exception as error:
            record.note = f"{type(error).__name__}: {error}".splitlines()[0][:300]
            raise
        finally:
            record.seconds = round(time.perf_counter() - start, 3)
        if not math.isfinite(value):
            record.note = f"{metric} is not finite"
            raise ValueError(record.note)
        record.state, record.score = "complete", value
        logger.info("trial %d: %s=%.4f %s", trial.number, metric, value, values)
        return value

    start = time.perf_counter()
    with threadpool_limits(1 if jobs > 1 else None):
        study.optimize(objective, n_trials=int(max_trials), n_jobs=jobs, catch=(Exception,),
                       timeout=float(timeout_seconds) or None)
    trials = [records[number] for number in sorted(records)]
    complete = [t for t in trials if t.state == "complete"]
    if not complete:
        reason = next((t.note for t in trials if t.note), "no trial finished")
        raise InputError(f"tuning failed: no trial completed; first failure: {reason}")
    best = study.best_trial
    if best.value is None:  # not reached: the best trial is a complete one, and those have a value
        raise InputError("tuning failed: the best trial has no value")
    chosen, params = split_trial(best.params, trainer, estimator, data.task)
    default = records.get(0)
    return TuningResult(trainer, metric, greater, chosen, params, best.number, float(best.value),
                        default.score if default is not None else None, trials,
                        round(time.perf_counter() - start, 2), jobs, int(seed))


def write_outputs(result: TuningResult, report_path: str | os.PathLike, metrics_path: str | os.PathLike,
                  trials_path: str | os.PathLike) -> dict[str, float]:
    """Writes the report (Markdown), the metrics (JSON) and every trial (JSON); returns the metrics."""
    import json
    from pathlib import Path

    from kfp_mlops.components.core.artifacts import write_metrics_file

    for path in (report_path, trials_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(report_path).write_text(result.to_markdown())
    Path(trials_path).write_text(json.dumps(result.to_json(), indent=2, default=str))
    values = result.metrics()
    write_metrics_file(metrics_path, values)
    return values
