"""Tuning on the platforms' services: Vertex AI hyperparameter tuning jobs and Katib experiments.

Both run every trial as its own container (:mod:`.trial_main`) over the same search space
(:mod:`.search_space`) and return trials that :func:`result_from_trials` turns into the
:class:`~kfp_mlops.components.training.search.TuningResult` the local search gives, so the
pipeline's outputs (best values, every trial's score, the report) do not depend on the target.
"""
from __future__ import annotations

import math
from typing import Any

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.training.search import TrialRecord, TuningResult
from kfp_mlops.components.training.search_space import Dimension, cast_value, split_trial

VERTEX_MACHINE = "n1-standard-4"


def gcs_fuse_path(uri: str) -> str:
    """``gs://bucket/path`` -> ``/gcs/bucket/path`` (Cloud Storage FUSE in Vertex AI custom jobs)."""
    return "/gcs/" + uri[len("gs://"):] if uri.startswith("gs://") else uri


def vertex_study_parameters(dimensions: list[Dimension]) -> list[dict[str, Any]]:
    """The study's ``parameters`` (Vertex AI ``StudySpec.ParameterSpec``, REST JSON) for a space."""
    specs = []
    for d in dimensions:
        spec: dict[str, Any]
        if d.choices is not None:
            numbers = all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in d.choices)
            spec = ({"discrete_value_spec": {"values": sorted(float(c) for c in d.choices)}} if numbers
                    else {"categorical_value_spec": {"values": [str(c) for c in d.choices]}})
        elif d.integer:
            spec = {"integer_value_spec": {"min_value": str(int(d.low)), "max_value": str(int(d.high))}}
        else:
            spec = {"double_value_spec": {"min_value": d.low, "max_value": d.high}}
        if d.choices is None or "discrete_value_spec" in spec:
            spec["scale_type"] = "UNIT_LOG_SCALE" if d.log else "UNIT_LINEAR_SCALE"
        specs.append({"parameter_id": d.name, **spec})
    return specs


def vertex_worker_pool_specs(image: str, args: list[str], machine_type: str = VERTEX_MACHINE) -> list[dict]:
    """One worker pool running :mod:`.trial_main` in our image."""
    from kfp_mlops.components.training.trial_main import trial_command

    return [{"machine_spec": {"machine_type": machine_type}, "replica_count": 1,
             "container_spec": {"image_uri": image, "command": trial_command(), "args": args}}]


def vertex_trials(gcp_resources: str) -> list[dict[str, Any]]:
    """Reads the finished job named in GCPC's ``gcp_resources`` and returns its trials as REST JSON dicts."""
    import json

    from google.cloud import aiplatform
    from google.protobuf import json_format

    resources = json.loads(gcp_resources).get("resources", [])
    uri = next((r["resourceUri"] for r in resources if r.get("resourceType") == "HyperparameterTuningJob"), "")
    if "/projects/" not in uri:
        raise InputError(f"gcp_resources names no HyperparameterTuningJob: {gcp_resources[:200]}")
    name = "projects/" + uri.split("/projects/", 1)[1]
    job = aiplatform.HyperparameterTuningJob.get(resource_name=name, location=name.split("/")[3])
    # aiplatform annotates the inherited .get() as returning its private base class, which has no .trials
    trials = job.trials  # type: ignore[attr-defined]
    return [json_format.MessageToDict(trial._pb, preserving_proto_field_name=True) for trial in trials]


def result_from_trials(trials: list[dict[str, Any]], dimensions: list[Dimension], trainer: str, estimator: str,
                       task: str, metric: str, greater: bool, seed: int = 42, parallel: int = 1) -> TuningResult:
    """Turns a service's trials into a :class:`TuningResult`.

    Args:
        trials: Dicts with ``id``, ``state`` (``SUCCEEDED``, ``INFEASIBLE``, ``STOPPED``...; Katib's
            ``Succeeded``, ``EarlyStopped``...), ``parameters`` (``[{parameter_id, value}]``) and
            ``final_measurement.metrics`` (``[{metric_id, value}]``).
        dimensions: The space, to cast the values back.
        trainer, estimator, task: As for the local search.
        metric: The metric the trials reported; ``greater``: its direction.
        seed, parallel: Recorded in the result.

    Raises:
        InputError: When no trial reported the metric.
    """
    by_name = {d.name: d for d in dimensions}
    records = []
    for index, trial in enumerate(sorted(trials, key=lambda t: int(t.get("id", 0) or 0))):
        values = {p["parameter_id"]: cast_value(by_name[p["parameter_id"]], str(p["value"]))
                  for p in trial.get("parameters", []) if p.get("parameter_id") in by_name}
        measured = [m for m in trial.get("final_measurement", {}).get("metrics", []) if m.get("metric_id") == metric]
        state = str(trial.get("state", "")).upper()
        value = float(measured[0]["value"]) if measured else None
        if value is not None and math.isfinite(value) and state in ("SUCCEEDED", "COMPLETE", "COMPLETED"):
            records.append(TrialRecord(index, "complete", value, values, 0.0))
        else:
            kind = "pruned" if state in ("STOPPED", "EARLYSTOPPED", "EARLY_STOPPED") else "failed"
            records.append(TrialRecord(index, kind, None, values, 0.0, note=state.lower() or "no measurement"))
    complete = [(r.score, r) for r in records if r.state == "complete" and r.score is not None]
    if not complete:
        raise InputError(f"tuning failed: none of {len(records)} trial(s) reported {metric}")
    best_score, best = (max if greater else min)(complete, key=lambda scored: scored[0])
    chosen, params = split_trial(best.params, trainer, estimator, task)
    return TuningResult(trainer, metric, greater, chosen, params, best.number, float(best_score), None, records,
                        0.0, parallel, seed)
