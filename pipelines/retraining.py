"""Triggers the ``training`` pipeline on a new data window, through the same path the CLI uses.

Locally it is a local run (kfp.local); for ``vertex`` and ``kfp`` it is a
submitted run, through :mod:`kfp_mlops.pipelines.submission`.
"""
from __future__ import annotations

import json
from typing import Any


def trigger_training(target: str, parameters: dict[str, Any], submit_options: dict[str, Any] | None = None) -> str:
    """Starts a training run and returns a one-line description of it.

    Args:
        target: ``local``, ``vertex`` or ``kfp``.
        parameters: Training pipeline parameters (``data_path``, ``label``,
            ``model_name``, ``registry_uri``, ...).
        submit_options: For remote targets, the submission options
            (``project``, ``region``, ``pipeline_root``, ``host``, ...).

    Returns:
        For a local run, its outcome (``registered penguins v2``, ...); for a
        remote run, the submitted run's name.

    Raises:
        ValueError: For an unknown target.
        RuntimeError: When the local run fails.
    """
    if target == "local":
        from kfp_mlops.pipelines.training import run_training

        params = dict(parameters)
        run = run_training(
            data_path=params.pop("data_path", ""), label=params.pop("label", ""),
            model_name=params.pop("model_name", ""), registry=params.pop("registry_uri", ""),
            log_path=None, **params,
        )
        if not run.succeeded:
            raise RuntimeError(f"retraining run failed: {run.error}")
        version = run.output("register-model")
        promoted = run.output("promote-model")
        if version and promoted:
            return f"retrained: registered {run.model_name} {version} and promoted it to champion"
        if version:
            return f"retrained: registered {run.model_name} {version}; not promoted (infra validation failed)"
        if run.output("evaluate-model") is False:
            return "retrained: the new model was not blessed; the champion is unchanged"
        return "retraining stopped: the new data window failed validation"
    if target in ("vertex", "kfp"):
        from kfp_mlops.pipelines.submission import submit

        result = submit("training", target=target, parameters=parameters, **(submit_options or {}))
        return f"submitted training run: {getattr(result, 'run_name', None) or json.dumps(result, default=str)}"
    raise ValueError(f"unknown target {target!r}; expected local, vertex or kfp")
