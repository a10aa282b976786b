"""The ``tuning`` pipeline: search hyperparameters on a dataset, without training a final model.

Flow::

    ingest -> statistics -> schema -> validate
      -> [passed] tune (Optuna locally | a Vertex AI hyperparameter tuning job | a Katib Experiment)

The search is the same step ``kfp-mlops run training --tune`` runs before its final fit; this
pipeline stops after it, for exploring a space (``kfp-mlops tune``). Its outputs are the best
trial's values, a report of every trial, per-trial metrics and the trials as JSON.
"""
from typing import Callable

from kfp import dsl

PIPELINE_NAME = "tuning"


def build_tuning_pipeline(target: str = "local", trainer: str = "sklearn") -> Callable:
    """Builds the tuning pipeline for one target.

    Args:
        target: ``local``, ``vertex`` or ``kfp``; picks the search (see
            :meth:`~kfp_mlops.pipelines.targets.base.Target.add_tuning_step`).
        trainer: ``sklearn`` or ``keras``.

    Returns:
        A ``@dsl.pipeline`` function.

    Raises:
        ValueError: For an unknown trainer or target.
    """
    from kfp_mlops.components.data.component import fingerprint_data, ingest_data
    from kfp_mlops.components.validation import component as validation
    from kfp_mlops.pipelines.targets import TuningStep, get_target
    from kfp_mlops.pipelines.training import TRAINERS

    run_target = get_target(target)
    if trainer not in TRAINERS:
        raise ValueError(f"unknown trainer {trainer!r}; expected one of: {', '.join(TRAINERS)}")

    @dsl.pipeline(name=PIPELINE_NAME, description="Search hyperparameters and report every trial.")
    def tuning(
        data_path: str = "",
        label: str = "",
        estimator: str = "hist_gradient_boosting",
        tuning_space: dict = {},
        tuning_trials: int = 20,
        tuning_parallelism: int = 2,
        tuning_metric: str = "auto",
        eval_fraction: float = 0.15,
        test_fraction: float = 0.15,
        seed: int = 42,
        project: str = "",
        location: str = "us-central1",
        namespace: str = "kubeflow-user-example-com",
    ):
        fingerprint = fingerprint_data(data_path=data_path).set_display_name("Fingerprint data")
        fingerprint.set_caching_options(False)
        ingest = ingest_data(
            data_path=data_path, label=label, eval_fraction=eval_fraction, test_fraction=test_fraction,
            data_fingerprint=fingerprint.output,
        ).set_display_name("Ingest data")
        statistics = validation.generate_statistics(dataset=ingest.outputs["train"]).set_display_name(
            "Generate statistics")
        schema = validation.infer_schema(
            statistics=statistics.outputs["statistics"], label=ingest.outputs["Output"]
        ).set_display_name("Infer schema")
        validate = validation.validate_data(
            statistics=statistics.outputs["statistics"], schema=schema.outputs["schema"]
        ).set_display_name("Validate data")
        with dsl.If(validate.outputs["Output"] == True, name="data-valid"):  # noqa: E712
            run_target.add_tuning_step(TuningStep(
                train=ingest.outputs["train"], eval=ingest.outputs["eval"], schema=schema.outputs["schema"],
                label=ingest.outputs["Output"], trainer=trainer, space=tuning_space, max_trials=tuning_trials,
                parallel_trials=tuning_parallelism, metric=tuning_metric, estimator=estimator, seed=seed,
                project=project, location=location, namespace=namespace,
            ))

    return tuning


def run_tuning(data_path: str = "", label: str = "", trainer: str = "sklearn", log_path: str | None = None,
               enable_caching: bool = True, **parameters):
    """Runs the tuning pipeline locally (kfp.local) and returns the run.

    Checks the data file, label and search space before any task starts.

    Args:
        data_path: CSV with a header row; empty means the bundled palmerpenguins data.
        label: Label column; empty means ``species`` for the bundled data.
        trainer: ``sklearn`` or ``keras``.
        log_path: Where task logs go; ``None`` prints them.
        enable_caching: Use kfp.local's cache.
        **parameters: Other pipeline parameters (``tuning_space``, ``tuning_trials``, ...).

    Returns:
        A :class:`kfp_mlops.pipelines.local_runner.LocalRun`.

    Raises:
        InputError: For a bad data file, label or space.
    """
    from pathlib import Path

    from kfp_mlops.components.core.data_contract import preflight
    from kfp_mlops.components.core.errors import InputError
    from kfp_mlops.components.core.tables import BUNDLED_LABEL, bundled_dataset_path
    from kfp_mlops.components.training.search_space import parse_space
    from kfp_mlops.pipelines import local_runner

    source = data_path or bundled_dataset_path()
    label = label or (BUNDLED_LABEL if not data_path else "")
    if not label:
        raise InputError("no label column given: pass the name of the column to predict")
    preflight(source, label)
    parse_space(parameters.get("tuning_space") or {}, trainer, parameters.get("estimator", "hist_gradient_boosting"))
    print(f"Running pipeline 'tuning' locally on {source} (label {label!r}, trainer {trainer})", flush=True)
    arguments = {"data_path": str(Path(data_path).absolute()) if data_path else "", "label": label, **parameters}
    return local_runner.run_pipeline(build_tuning_pipeline("local", trainer), arguments,
                                     enable_caching=enable_caching, log_path=log_path)
