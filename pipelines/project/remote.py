"""Applies a deployment to an environment on Vertex AI or Kubeflow: submitted runs and schedules.

The training pipeline is compiled for the environment's target and submitted
through :mod:`kfp_mlops.pipelines.submission` (parameters checked against the
compiled spec, credentials scanned, transient errors retried). Each declared
schedule becomes a Vertex AI schedule or a KFP recurring run; monitoring is
scheduled when the model declares its serving data.
"""
from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from kfp_mlops.pipelines.project.apply import Outcome, utc_now
from kfp_mlops.pipelines.project.parameters import (
    compile_options,
    monitoring_parameters,
    training_parameters,
    tuning_note,
)
from kfp_mlops.pipelines.project.plan import CREATE, UPDATE, Change

COMPILE_KEYS = ("image_tag", "image_registry")
TARGETS = ("vertex", "kfp")


@cache
def _package(pipeline: str, target: str, options: tuple, image: tuple) -> Path:
    """Compiles a pipeline once per target and options."""
    from kfp_mlops.pipelines.submission import resolve_package

    folder = tempfile.mkdtemp(prefix=f"kfp-mlops-apply-{pipeline}-")
    return resolve_package(pipeline, target, out_dir=folder, compile_options=dict(options), **dict(image))


def _submit(pipeline: str, change: Change, parameters: dict[str, Any], options: dict[str, Any],
            compiled: dict[str, Any], schedule: str | None = None) -> Any:
    from kfp_mlops.pipelines.targets import compiled_target

    deployment = change.desired
    image = tuple(sorted((k, options[k]) for k in COMPILE_KEYS if options.get(k)))
    package = _package(pipeline, deployment.target, tuple(sorted(compiled.items())), image)
    submit_options = {k: v for k, v in options.items() if k not in COMPILE_KEYS}
    labels = {"kfp-mlops-model": deployment.model, "kfp-mlops-deployment": deployment.place}
    if schedule:
        submit_options["schedule"] = schedule
    if deployment.target == "vertex":  # job ids carry the second: one per model and place, or they collide
        submit_options["job_name"] = f"{pipeline}-{deployment.model}-{deployment.place}"
    return compiled_target(deployment.target).submit(package, parameters=parameters, labels=labels,
                                                     **submit_options)


def apply_remote(change: Change, extra_options: dict[str, Any]) -> Outcome:
    """Submits the training run (on create or update) and (re)creates the changed schedules.

    ``extra_options`` apply to every remote target, except the values of its
    ``vertex`` and ``kfp`` keys, which apply to that target only.
    Failures are reported in the outcome (one line), never raised.
    """
    deployment = change.desired
    environment = deployment.environment
    per_target = {k: v for k, v in extra_options.items() if k in TARGETS and isinstance(v, dict)}
    options = {**environment.submit_options(), **{k: v for k, v in extra_options.items() if k not in per_target},
               **per_target.get(deployment.target, {})}
    training = {**training_parameters(deployment), "data_path": deployment.settings["data"]["source"],
                **{k: v for k, v in environment.pipeline_parameters().items() if k != "namespace" or
                   deployment.target == "kfp"}}
    if deployment.settings["data"].get("schema"):
        training["schema_path"] = deployment.settings["data"]["schema"]
    names = dict(change.applied.get("schedule_names") or {})
    done: list[str] = [note for note in [tuning_note(deployment)] if note]
    result: dict[str, Any] = {"at": utc_now()}
    try:
        if change.action in (CREATE, UPDATE):
            submitted = _submit("training", change, training, options, compile_options(deployment))
            result["training"] = {"succeeded": True, "submitted": True, "run": submitted.run_name,
                                  "url": submitted.url, "error": ""}
            done.append(f"training run submitted: {submitted.run_name}")
        old = change.applied.get("schedules") or {}
        for kind, cron in deployment.schedules().items():
            if old.get(kind) == cron and names.get(kind):
                continue
            if kind == "training":
                created = _submit("training", change, training, options, compile_options(deployment), cron)
            else:
                monitoring = deployment.settings.get("monitoring") or {}
                if not monitoring.get("serving_data"):
                    done.append("monitoring schedule left out: declare monitoring.serving_data (the serving log)")
                    continue
                parameters = {**monitoring_parameters(deployment), "serving_data": monitoring["serving_data"],
                              "registry_uri": environment.registry_uri, "label": training["label"]}
                created = _submit("monitoring", change, parameters, options, {}, cron)
            if names.get(kind):
                done.append(f"the previous {kind} schedule {names[kind]} still exists: delete it")
            names[kind] = created.schedule_name
            done.append(f"{kind} schedule {cron!r}: {created.schedule_name}")
    except Exception as error:  # noqa: BLE001 - one line in the outcome; the state keeps the old hash
        message = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        result.setdefault("training", {"succeeded": False, "error": message})
        result["state"] = {"schedule_names": names}
        return Outcome(change.key, change.action, False, "; ".join([*done, message]), result)
    result["state"] = {"schedule_names": names}
    return Outcome(change.key, change.action, True, "; ".join(done) or "nothing to submit", result)
