"""Katib (Kubeflow's tuning service): an Experiment manifest, created and watched with the kubernetes client.

The Experiment runs :mod:`.trial_main` as a batch Job per trial, with the suggested values as
``--NAME=VALUE`` arguments; Katib's StdOut collector reads the ``METRIC=VALUE`` lines (the last
one, the full fit's score, is the objective: strategy ``latest``), and ``medianstop`` early
stopping ends trials that fall behind the median, as pruning does locally.
"""
from __future__ import annotations

import logging
import re
import time
from typing import Any

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.training.search_space import Dimension

logger = logging.getLogger(__name__)
GROUP, VERSION, PLURAL, TRIALS = "kubeflow.org", "v1beta1", "experiments", "trials"
ALGORITHMS = {"tpe": "tpe", "random": "random", "bayesian": "bayesianoptimization", "grid": "grid"}


def experiment_name(text: str) -> str:
    """A DNS-1123 name (lowercase, digits, dashes; at most 40 characters, Katib's suggestion limit)."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:40].strip("-")
    if not name:
        raise InputError(f"cannot make a Katib experiment name from {text!r}")
    return name


def _parameter(d: Dimension) -> dict[str, Any]:
    if d.choices is not None:
        return {"name": d.name, "parameterType": "categorical", "feasibleSpace": {"list": [str(c) for c in d.choices]}}
    kind = "int" if d.integer else "double"
    space = {"min": str(int(d.low) if d.integer else d.low), "max": str(int(d.high) if d.integer else d.high)}
    if d.log:
        space["distribution"] = "logUniform"
    return {"name": d.name, "parameterType": kind, "feasibleSpace": space}


def experiment_manifest(name: str, namespace: str, image: str, args: list[str], dimensions: list[Dimension],
                        metric: str, greater: bool, max_trials: int, parallel_trials: int,
                        algorithm: str = "tpe", early_stopping: bool = True) -> dict[str, Any]:
    """The ``kubeflow.org/v1beta1`` Experiment for one search.

    Args:
        name: Experiment name (see :func:`experiment_name`).
        namespace: Its Kubernetes namespace (the Kubeflow profile's).
        image: The trial image (ours, with the trainers).
        args: The trial's fixed arguments (:func:`.trial_main.trial_args`).
        dimensions: The search space.
        metric: The objective metric; ``greater``: maximize it.
        max_trials: Most trials; ``parallel_trials`` at once.
        algorithm: ``tpe``, ``random``, ``bayesian`` or ``grid``.
        early_stopping: Katib's ``medianstop``.
    """
    from kfp_mlops.components.training.trial_main import trial_command

    if algorithm not in ALGORITHMS:
        raise InputError(f"unknown Katib algorithm {algorithm!r}; expected one of: {', '.join(ALGORITHMS)}")
    suggested = [f"--{d.name}=${{trialParameters.{_reference(d.name)}}}" for d in dimensions]
    spec: dict[str, Any] = {
        "objective": {"type": "maximize" if greater else "minimize", "objectiveMetricName": metric,
                      "metricStrategies": [{"name": metric, "value": "latest"}]},
        "algorithm": {"algorithmName": ALGORITHMS[algorithm]},
        "parallelTrialCount": int(parallel_trials), "maxTrialCount": int(max_trials),
        "maxFailedTrialCount": max(1, int(max_trials) // 2),
        "metricsCollectorSpec": {"collector": {"kind": "StdOut"}},
        "parameters": [_parameter(d) for d in dimensions],
        "trialTemplate": {
            "primaryContainerName": "trial", "retain": False,
            "trialParameters": [{"name": _reference(d.name), "reference": d.name} for d in dimensions],
            "trialSpec": {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {
                "metadata": {"annotations": {"sidecar.istio.io/inject": "false"}},
                "spec": {"restartPolicy": "Never", "containers": [{
                    "name": "trial", "image": image, "command": trial_command() + args + suggested}]}}}},
        },
    }
    if early_stopping:
        spec["earlyStopping"] = {"algorithmName": "medianstop",
                                 "algorithmSettings": [{"name": "min_trials_required", "value": "3"}]}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Experiment",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _reference(name: str) -> str:
    """A trial parameter name Katib accepts in ``${trialParameters.NAME}`` (letters and digits)."""
    return re.sub(r"[^A-Za-z0-9]", "", name) or "p"


def run_experiment(manifest: dict[str, Any], api_client: Any, timeout_seconds: float = 24 * 3600,
                   poll_seconds: float = 15.0) -> list[dict[str, Any]]:
    """Creates the Experiment, waits until it succeeds, and returns its trials as service-neutral dicts.

    Raises:
        RuntimeError: When the Experiment fails or does not finish within ``timeout_seconds``.
    """
    from kubernetes import client

    api = client.CustomObjectsApi(api_client)
    name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
    logger.info("created Katib Experiment %s/%s", namespace, name)
    deadline = time.monotonic() + timeout_seconds
    while True:
        status = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name).get("status", {})
        conditions = {c.get("type"): c for c in status.get("conditions", []) if c.get("status") == "True"}
        if "Succeeded" in conditions:
            break
        if "Failed" in conditions:
            raise RuntimeError(f"Katib Experiment {namespace}/{name} failed: {conditions['Failed'].get('message', '')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Katib Experiment {namespace}/{name} did not finish within {timeout_seconds:.0f} s")
        time.sleep(poll_seconds)
    listed = api.list_namespaced_custom_object(GROUP, VERSION, namespace, TRIALS,
                                               label_selector=f"katib.kubeflow.org/experiment={name}")
    return [_trial(index, item) for index, item in enumerate(listed.get("items", []))]


def _trial(index: int, item: dict[str, Any]) -> dict[str, Any]:
    """A Katib Trial -> the dict :func:`.service_tuning.result_from_trials` reads."""
    status = item.get("status", {})
    true = [c.get("type") for c in status.get("conditions", []) if c.get("status") == "True"]
    state = next((s for s in ("Succeeded", "EarlyStopped", "Failed", "MetricsUnavailable") if s in true), "Running")
    metrics = status.get("observation", {}).get("metrics", [])
    return {"id": str(index), "state": state.upper(),
            "parameters": [{"parameter_id": p["name"], "value": p["value"]}
                           for p in item.get("spec", {}).get("parameterAssignments", [])],
            "final_measurement": {"metrics": [{"metric_id": m["name"], "value": m.get("latest", m.get("max"))}
                                              for m in metrics]}}
