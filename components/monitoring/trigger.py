"""Triggers the ``training`` pipeline on a new data window, through the CLI.

The trigger runs ``kfp-mlops run training`` (target ``local``) or
``kfp-mlops submit training`` (``vertex``, ``kfp``) in a fresh process: the same
path a user takes, and one that works from inside a pipeline task, whose
``_KFP_RUNTIME`` environment leaves only kfp's runtime half importable.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

RESULT_PREFIX = "kfp-mlops-result: "


def training_command(target: str, parameters: dict[str, Any], submit_options: dict[str, Any] | None = None) -> list[str]:
    """Returns the CLI command that starts a training run.

    Args:
        target: ``local``, ``vertex`` or ``kfp``.
        parameters: ``data_path``, ``label``, ``model_name``, ``registry_uri`` and
            other training pipeline parameters.
        submit_options: Remote targets: CLI options of ``kfp-mlops submit``
            (``project``, ``region``, ``pipeline_root``, ``host``, ...).

    Raises:
        ValueError: For an unknown target, or no data window.
    """
    if not parameters.get("data_path"):
        raise ValueError("no new data window to retrain on: pass new_data_path / --new-data")
    base = [sys.executable, "-m", "kfp_mlops.pipelines.cli.main"]
    if target == "local":
        command = base + ["run", "training", "--data", parameters["data_path"]]
        for key, flag in (("label", "--label"), ("model_name", "--model-name"), ("registry_uri", "--registry")):
            if parameters.get(key):
                command += [flag, str(parameters[key])]
        return command
    if target in ("vertex", "kfp"):
        command = base + ["submit", "training", "--target", target]
        for key, value in (submit_options or {}).items():
            flag = f"--{key.replace('_', '-')}"
            if isinstance(value, bool):  # store_true flags such as --wait and --no-cache
                command += [flag] if value else []
            else:
                command += [flag, str(value)]
        for key, value in parameters.items():
            command += ["--param", f"{key}={json.dumps(value) if isinstance(value, (dict, list)) else value}"]
        return command
    raise ValueError(f"unknown target {target!r}; expected local, vertex or kfp")


def trigger_training(target: str, parameters: dict[str, Any], submit_options: dict[str, Any] | None = None) -> str:
    """Starts a training run through the CLI and returns its outcome in one line.

    Raises:
        RuntimeError: When the run could not start or failed; a gate that stops
            the new model is an outcome, not a failure.
    """
    command = training_command(target, parameters, submit_options)
    env = {key: value for key, value in os.environ.items() if key != "_KFP_RUNTIME"}
    print("[retraining] " + " ".join(command[2:]), flush=True)
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    print(done.stdout, flush=True)
    results = [line[len(RESULT_PREFIX):] for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode not in (0, 1) or (target == "local" and not results):
        cause = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"retraining run failed (exit {done.returncode}): {cause}")
    if target != "local":
        return "submitted: " + (done.stdout.strip().splitlines() or [""])[-1]
    result = json.loads(results[-1])
    if result.get("promoted"):
        return f"retrained: {result['model_name']} {result['version']} registered and promoted to champion"
    if result.get("version"):
        return f"retrained: {result['model_name']} {result['version']} registered; not promoted"
    return f"retrained: the new model was not registered ({result.get('stopped_by', 'gate')}); the champion is unchanged"
