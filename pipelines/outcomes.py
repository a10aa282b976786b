"""What a local run of each pipeline decided, as typed objects built from the run's task outputs.

The pipeline modules build these (``run_training`` sets ``run.outcome``), so the task names
(``validate-data``, ``register-model``...) are read here and nowhere in the CLI, and an error's
kind comes from the task's typed failure (:class:`~kfp_mlops.pipelines.task_failure.TaskFailure`),
not from its message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfp_mlops.pipelines.task_failure import TaskFailure

# Why a training run stopped short of a champion (``stopped_by``).
FAILURE, DATA_VALIDATION, EVALUATION_GATE, INFRA_VALIDATION, PROMOTION = (
    "failure", "data validation", "evaluation gate", "infra validation", "promotion")
TRAINER_TASKS = ("train-sklearn", "train-keras")


def artifact_path(artifact: Any) -> str:
    """The local path of a task's output artifact ("" when there is none)."""
    return str(getattr(artifact, "path", "") or "")


def _exit_code_for(failure: TaskFailure | None) -> int:
    return 2 if failure is not None and failure.input_error else 1


@dataclass
class TrainingOutcome:
    """What a training run did.

    Attributes:
        model_name: The registered model's name.
        registry: The registry folder.
        stopped_by: None when a champion was promoted; else ``failure``, ``data validation``,
            ``evaluation gate``, ``infra validation`` or ``promotion``.
        error: The failure's one-line message ("" when none).
        failure: The failed task's typed error, when it recorded one.
        version: The registered version (None when nothing was registered).
        promoted: Whether the version became the champion.
        validation_passed: The data validation gate (None when it did not run).
        validation_report: Its report's path.
        anomalies_path: Its anomalies file.
        metrics: The evaluation's metrics.
        blessed: The evaluation gate (None when it did not run).
        evaluation_report: Its report's path.
        verdict: The evaluation's one-line verdict.
        model_path: The trained model's directory.
    """

    model_name: str
    registry: str
    stopped_by: str | None = None
    error: str = ""
    failure: TaskFailure | None = None
    version: str | None = None
    promoted: bool = False
    validation_passed: bool | None = None
    validation_report: str = ""
    anomalies_path: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    blessed: bool | None = None
    evaluation_report: str = ""
    verdict: str = ""
    model_path: str = ""

    @classmethod
    def from_run(cls, run: Any, model_name: str, registry: str | Path) -> TrainingOutcome:
        """Reads a :class:`~kfp_mlops.pipelines.local_runner.LocalRun` of the training pipeline."""
        outcome = cls(model_name, str(registry), error=run.error, failure=run.failure)
        tasks = run.tasks
        outcome.version = tasks.get("register-model", {}).get("Output")
        if not run.succeeded:
            promotion = run.failure.is_a("PromotionError") if run.failure else run.error.startswith("PromotionError")
            outcome.stopped_by = PROMOTION if promotion else FAILURE
            return outcome
        validate = tasks.get("validate-data", {})
        if validate:
            outcome.validation_passed = bool(validate.get("Output"))
            outcome.validation_report = artifact_path(validate.get("report"))
            outcome.anomalies_path = artifact_path(validate.get("anomalies"))
        evaluate = tasks.get("evaluate-model", {})
        if evaluate:
            outcome.metrics = dict(evaluate["metrics"].metadata)
            outcome.blessed = bool(evaluate.get("Output"))
            outcome.evaluation_report = artifact_path(evaluate.get("report"))
            outcome.verdict = str((getattr(evaluate.get("report"), "metadata", None) or {}).get("verdict", ""))
        train: dict[str, Any] = next((tasks[name] for name in TRAINER_TASKS if name in tasks), {})
        outcome.model_path = artifact_path(train.get("model"))
        outcome.promoted = "promote-model" in tasks
        if outcome.validation_passed is False:
            outcome.stopped_by = DATA_VALIDATION
        elif not outcome.version:
            outcome.stopped_by = EVALUATION_GATE
        elif not outcome.promoted:
            outcome.stopped_by = INFRA_VALIDATION
        return outcome

    @property
    def exit_code(self) -> int:
        """0 for a new champion, 2 for bad input, 1 for any other stop."""
        if self.stopped_by is None:
            return 0
        return _exit_code_for(self.failure) if self.stopped_by == FAILURE else 1

    def result(self) -> dict[str, Any]:
        """The machine-readable result (``--result-file``; the retraining trigger reads it)."""
        return {"model_name": self.model_name, "version": self.version, "promoted": self.promoted,
                "stopped_by": self.stopped_by}


@dataclass
class BatchOutcome:
    """What a batch prediction run did.

    Attributes:
        error: The failure's one-line message ("" when none).
        failure: The failed task's typed error, when it recorded one.
        validation_passed: The input validation gate (None when it did not run).
        anomalies_path: Its anomalies file.
        predictions_path: The predictions file ("" when nothing was scored).
        rows: Rows scored.
        model_version: The version that scored them.
    """

    error: str = ""
    failure: TaskFailure | None = None
    validation_passed: bool | None = None
    anomalies_path: str = ""
    predictions_path: str = ""
    rows: int = 0
    model_version: str = ""

    @classmethod
    def from_run(cls, run: Any) -> BatchOutcome:
        """Reads a LocalRun of the batch prediction pipeline."""
        outcome = cls(run.error, run.failure)
        if not run.succeeded:
            return outcome
        validate = run.tasks.get("validate-data", {})
        outcome.validation_passed = bool(validate.get("Output")) if validate else None
        outcome.anomalies_path = artifact_path(validate.get("anomalies"))
        predictions = run.tasks.get("predict-batch", {}).get("predictions")
        if predictions is not None:
            outcome.predictions_path = artifact_path(predictions)
            outcome.rows = int(predictions.metadata.get("rows", 0))
            outcome.model_version = str(predictions.metadata.get("model_version", ""))
        return outcome

    @property
    def exit_code(self) -> int:
        """0 when rows were scored, 2 for bad input, 1 otherwise."""
        if self.error:
            return _exit_code_for(self.failure)
        return 0 if self.predictions_path else 1


@dataclass
class MonitoringOutcome:
    """What a monitoring run decided.

    Attributes:
        error: The failure's one-line message ("" when none).
        failure: The failed task's typed error, when it recorded one.
        report: The decision's text report.
        retrain: Whether retraining was called for.
        trigger: What the retraining trigger did ("" when it did not run).
        drifted_features: How many features drifted above their thresholds.
    """

    error: str = ""
    failure: TaskFailure | None = None
    report: str = ""
    retrain: bool = False
    trigger: str = ""
    drifted_features: int = 0

    @property
    def verdict(self) -> str:
        """One phrase: ``no drift``, ``drift in 2 feature(s)``, ``decay: retrain`` or ``failed``."""
        if self.error:
            return "failed"
        if self.drifted_features:
            return f"drift in {self.drifted_features} feature(s)"
        return "decay: retrain" if self.retrain else "no drift"

    @classmethod
    def from_run(cls, run: Any) -> MonitoringOutcome:
        """Reads a LocalRun of the monitoring pipeline."""
        outcome = cls(run.error, run.failure)
        if not run.succeeded:
            return outcome
        decide = run.tasks.get("decide-retraining", {})
        path = artifact_path(decide.get("report"))
        outcome.report = Path(path).read_text(encoding="utf-8").strip() if path else ""
        outcome.retrain = bool(decide.get("Output"))
        outcome.drifted_features = int((getattr(decide.get("metrics"), "metadata", None) or {}).get(
            "drifted_features", 0))
        outcome.trigger = str(run.output("trigger-retraining") or "")
        return outcome

    @property
    def exit_code(self) -> int:
        """0 when monitoring ran, 2 for bad input, 1 for another failure."""
        return _exit_code_for(self.failure) if self.error else 0
