"""A deployment's settings as the training and monitoring pipelines' parameters.

The one place where the project file's words meet the pipelines' parameter
names. ``tuning`` is passed through as the training pipeline's ``tuning``
parameter when the pipeline has one; until then it is reported and left out
(:func:`tuning_note`).
"""
from __future__ import annotations

from functools import cache
from typing import Any

from kfp_mlops.pipelines.project.spec import Deployment

TUNING_PARAMETER = "tuning"


@cache
def training_parameter_names(trainer: str = "sklearn") -> frozenset[str]:
    """The training pipeline's parameter names (compiled for ``local``)."""
    from kfp_mlops.pipelines.training import build_training_pipeline

    return frozenset(build_training_pipeline(target="local", trainer=trainer).component_spec.inputs or {})


def tuning_note(deployment: Deployment) -> str:
    """Why a declared ``tuning`` block is not used, or ``""`` when it is (or none is declared)."""
    trainer = (deployment.settings.get("trainer") or {}).get("type", "sklearn")
    if deployment.settings.get("tuning") and TUNING_PARAMETER not in training_parameter_names(trainer):
        return "tuning declared, but this training pipeline has no tuning step yet: trained without a search"
    return ""


def compile_options(deployment: Deployment) -> dict[str, Any]:
    """The training pipeline factory's options: ``trainer``, ``import_schema``."""
    trainer = (deployment.settings.get("trainer") or {}).get("type", "sklearn")
    return {"trainer": trainer, "import_schema": bool(deployment.settings["data"].get("schema"))}


def training_parameters(deployment: Deployment) -> dict[str, Any]:
    """The training pipeline's parameters, except ``data_path``, ``registry_uri`` and the environment's own."""
    settings = deployment.settings
    trainer, gate = settings.get("trainer") or {}, settings.get("gate") or {}
    slices, training = settings.get("slices") or {}, settings.get("training") or {}
    values: dict[str, Any] = {
        "label": settings["data"]["label"],
        "model_name": deployment.model,
        "estimator": trainer.get("estimator"),
        "hyperparameters": trainer.get("hyperparameters"),
        "epochs": trainer.get("epochs"),
        "thresholds": gate.get("thresholds"),
        "regression_margin": gate.get("regression_margin"),
        "slice_feature": slices.get("feature"),
        "slice_floors": slices.get("floors"),
        "eval_fraction": training.get("eval_fraction"),
        "test_fraction": training.get("test_fraction"),
        "seed": training.get("seed"),
    }
    if settings.get("tuning") and not tuning_note(deployment):
        values[TUNING_PARAMETER] = settings["tuning"]  # the hook: the training pipeline's tuning step
    return {key: value for key, value in values.items() if value is not None}


def monitoring_parameters(deployment: Deployment) -> dict[str, Any]:
    """The monitoring pipeline's parameters (without ``serving_data`` and ``registry_uri``)."""
    monitoring = deployment.settings.get("monitoring") or {}
    values = {"model_name": deployment.model, "drift_threshold": monitoring.get("drift_threshold"),
              "max_metric_drop": monitoring.get("max_metric_drop"), "metric": monitoring.get("metric")}
    return {key: value for key, value in values.items() if value is not None}
