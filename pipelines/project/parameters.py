"""A deployment's settings as the training and monitoring pipelines' parameters.

The one place where the project file's words meet the pipelines' parameter
names. A ``tuning`` block builds the training pipeline with its tuning step
(``tune=True``) and sets the ``tuning_*`` parameters.
"""
from __future__ import annotations

from functools import cache
from typing import Any

from kfp_mlops.pipelines.project.spec import Deployment

# project file's tuning key -> the training pipeline's parameter
TUNING_PARAMETERS = {"search_space": "tuning_space", "trials": "tuning_trials",
                     "parallel_trials": "tuning_parallelism", "metric": "tuning_metric"}


@cache
def _factory_tunes() -> bool:
    import inspect

    from kfp_mlops.pipelines.training import build_training_pipeline

    return "tune" in inspect.signature(build_training_pipeline).parameters


def tuning_note(deployment: Deployment) -> str:
    """Why a declared ``tuning`` block is not used, or ``""`` when it is (or none is declared)."""
    if deployment.settings.get("tuning") and not _factory_tunes():
        return "tuning declared, but this training pipeline has no tuning step: trained without a search"
    return ""


def compile_options(deployment: Deployment) -> dict[str, Any]:
    """The training pipeline factory's options: ``trainer``, ``import_schema``, ``tune``."""
    trainer = (deployment.settings.get("trainer") or {}).get("type", "sklearn")
    options: dict[str, Any] = {"trainer": trainer, "import_schema": bool(deployment.settings["data"].get("schema"))}
    if deployment.settings.get("tuning") is not None and not tuning_note(deployment):
        options["tune"] = True
    return options


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
    if compile_options(deployment).get("tune"):
        values.update({parameter: settings["tuning"][key] for key, parameter in TUNING_PARAMETERS.items()
                       if settings["tuning"].get(key) is not None})
    return {key: value for key, value in values.items() if value is not None}


def monitoring_parameters(deployment: Deployment) -> dict[str, Any]:
    """The monitoring pipeline's parameters (without ``serving_data`` and ``registry_uri``)."""
    monitoring = deployment.settings.get("monitoring") or {}
    values = {"model_name": deployment.model, "drift_threshold": monitoring.get("drift_threshold"),
              "max_metric_drop": monitoring.get("max_metric_drop"), "metric": monitoring.get("metric")}
    return {key: value for key, value in values.items() if value is not None}
