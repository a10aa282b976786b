"""Runs one deployment locally, in its own process: training, then monitoring when serving data is declared.

``apply`` starts one worker per changed deployment, a bounded number at a time:
kfp.local keeps process-wide state (its configuration, the task log redirection),
so local pipeline runs are parallel as processes, not threads. A single run (or
``parallelism: 1``) runs in apply's own process, through :func:`run_safely`.

    python -m kfp_mlops.pipelines.project.worker REQUEST.json RESULT.json

The request is ``{"model", "settings", "registry", "log_dir", "train": bool}``;
the result is :func:`run_deployment`'s JSON.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def _data_path(source: str) -> str:
    from kfp_mlops.pipelines.datasets import BUNDLED, materialize

    return str(materialize(source)) if source in BUNDLED else source


def training_outcome(run: Any) -> dict[str, Any]:
    """What a local training run did, as JSON (from its typed ``TrainingOutcome``)."""
    outcome = run.outcome
    return {"run": run.run_name, "succeeded": run.succeeded, "error": run.error, "seconds": round(run.seconds, 2),
            "version": outcome.version, "promoted": outcome.promoted, "stopped_by": outcome.stopped_by,
            "verdict": outcome.verdict,
            "metrics": {k: v for k, v in outcome.metrics.items() if isinstance(v, (int, float))},
            "log_path": run.log_path, "record_path": getattr(run, "record_path", "")}


def monitoring_outcome(run: Any) -> dict[str, Any]:
    """What a local monitoring run decided, as JSON: the drift verdict."""
    from kfp_mlops.pipelines.outcomes import MonitoringOutcome

    outcome = MonitoringOutcome.from_run(run)
    return {"run": run.run_name, "succeeded": run.succeeded, "error": run.error, "verdict": outcome.verdict,
            "retrain": outcome.retrain, "drifted_features": outcome.drifted_features,
            "seconds": round(run.seconds, 2)}


def run_deployment(request: dict[str, Any]) -> dict[str, Any]:
    """Trains (when asked) and monitors (when serving data is declared) one model locally."""
    from kfp_mlops.pipelines.project.parameters import (
        compile_options,
        monitoring_parameters,
        training_parameters,
    )
    from kfp_mlops.pipelines.project.spec import LOCAL, Deployment
    from kfp_mlops.pipelines.training import run_training

    deployment = Deployment(request["model"], LOCAL, LOCAL, request["settings"])
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = Path(request["log_dir"])
    result: dict[str, Any] = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if request.get("train", True):
        parameters, options = training_parameters(deployment), compile_options(deployment)
        run = run_training(data_path=_data_path(deployment.settings["data"]["source"]),
                           schema_path=deployment.settings["data"].get("schema", ""), registry=request["registry"],
                           trainer=options["trainer"], tune=bool(options.get("tune")),
                           log_path=str(log_dir / f"{deployment.model}-training-{stamp}.log"), **parameters)
        result["training"] = training_outcome(run)
        if not run.succeeded:
            return result
    monitoring = deployment.settings.get("monitoring") or {}
    if monitoring.get("serving_data"):
        from kfp_mlops.components.registry import open_registry
        from kfp_mlops.pipelines.monitoring import run_monitoring

        if not open_registry(request["registry"]).has(deployment.model):
            result["monitoring"] = {"succeeded": True, "verdict": "no champion to monitor", "error": ""}
            return result
        run = run_monitoring(_data_path(monitoring["serving_data"]), registry=request["registry"],
                             new_data_path=_data_path(monitoring.get("new_data", "")) if monitoring.get("new_data")
                             else "", log_path=str(log_dir / f"{deployment.model}-monitoring-{stamp}.log"),
                             **monitoring_parameters(deployment))
        result["monitoring"] = monitoring_outcome(run)
    return result


def main(argv: list[str]) -> int:
    """Reads the request, runs it, writes the result; exit 0 unless the worker itself broke."""
    request_path, result_path = argv
    result = run_safely(json.loads(Path(request_path).read_text()))
    Path(result_path).write_text(json.dumps(result, default=str))
    return 0


def run_safely(request: dict[str, Any]) -> dict[str, Any]:
    """:func:`run_deployment`, with an exception reported in the result (one line), like a failed run."""
    try:
        return json.loads(json.dumps(run_deployment(request), default=str))
    except Exception as error:  # noqa: BLE001 - the apply goes on with the other models
        return {"training": {"succeeded": False, "error": f"{type(error).__name__}: {error}".splitlines()[0]}}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
