"""The ``batch_prediction`` pipeline: validate new rows against the training schema, then score them.

Flow::

    input rows, training rows -> statistics of both -> training schema
      -> validate input (SERVING environment: no label expected; skew against training)
      -> [valid] fetch the registry's champion -> predict -> predictions (Dataset, with the model version)
"""

from typing import Callable

from kfp import dsl

PIPELINE_NAME = "batch-prediction"


def build_batch_prediction_pipeline(target: str = "local") -> Callable:
    """Builds the batch prediction pipeline (the same definition for every target).

    Args:
        target: ``local``, ``vertex`` or ``kfp``; nothing in this pipeline differs by target.

    Returns:
        A ``@dsl.pipeline`` function.
    """
    from kfp_mlops.components.prediction.component import fetch_model, predict_batch
    from kfp_mlops.components.validation import component as validation
    from kfp_mlops.pipelines.baseline import import_data, training_baseline

    @dsl.pipeline(name=PIPELINE_NAME, description="Validate rows against the training schema and score them with the champion.")
    def batch_prediction(
        data_path: str,
        training_data_path: str,
        registry_uri: str,
        model_name: str,
        label: str = "",
        model_version: str = "champion",
    ):
        rows = import_data(data_path, "rows to score")
        training_statistics, schema = training_baseline(training_data_path, label)
        statistics = validation.generate_statistics(dataset=rows.output).set_display_name("Input statistics")
        validate = validation.validate_data(
            statistics=statistics.outputs["statistics"], schema=schema.outputs["schema"],
            training_statistics=training_statistics.outputs["statistics"], environment="SERVING",
        ).set_display_name("Validate input (schema and skew)")
        with dsl.If(validate.outputs["Output"] == True, name="input-valid"):  # noqa: E712
            champion = fetch_model(registry_uri=registry_uri, model_name=model_name, version=model_version)
            champion.set_display_name("Fetch model from registry").set_caching_options(False)
            predict_batch(
                model=champion.outputs["model"], data=rows.output, model_version=champion.outputs["Output"]
            ).set_display_name("Predict")

    return batch_prediction


def run_batch_prediction(data_path: str, training_data_path: str, model_name: str, label: str = "",
                         registry: str = "", model_version: str = "champion", log_path: str | None = None):
    """Runs batch prediction locally and returns the :class:`~kfp_mlops.pipelines.local_runner.LocalRun`.

    Raises:
        InputError: For a missing or unreadable CSV.
    """
    from pathlib import Path

    from kfp_mlops.components.data.contract import preflight
    from kfp_mlops.pipelines import local_runner

    for path in (data_path, training_data_path):
        preflight(path)  # fail fast, naming the file, from the header and a bounded sample
    registry_path = Path(registry).absolute() if registry else local_runner.default_registry()
    print(f"Running pipeline 'batch-prediction' locally on {data_path} with {model_name} {model_version}", flush=True)
    return local_runner.run_pipeline(
        build_batch_prediction_pipeline(),
        {"data_path": str(Path(data_path).absolute()), "training_data_path": str(Path(training_data_path).absolute()),
         "registry_uri": str(registry_path), "model_name": model_name, "label": label, "model_version": model_version},
        log_path=log_path,
    )
