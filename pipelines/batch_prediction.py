"""The ``batch_prediction`` pipeline: validate new rows against the training schema, then score them.

Flow::

    input rows -> statistics;  the model version's training baseline (schema + statistics, from the
    registry; or, with a training CSV, statistics and schema derived from it)
      -> validate input (SERVING environment: every feature but the label; skew against training)
      -> [valid] fetch the registry's champion -> predict -> predictions (Dataset, with the model version)
"""

from typing import Callable

from kfp import dsl

PIPELINE_NAME = "batch-prediction"


def build_batch_prediction_pipeline(target: str = "local", training_data: bool = False,
                                    data_source: str = "file") -> Callable:
    """Builds the batch prediction pipeline (the same definition for every target).

    Args:
        target: ``local``, ``vertex`` or ``kfp``; nothing in this pipeline differs by target.
        training_data: Derive the baseline from the ``training_data_path`` CSV instead of
            taking the one the registered version carries.
        data_source: ``file``, or ``bigquery``: ``data_path`` is a ``bq://`` table or a
            query, read through the BigQuery client (any target).

    Returns:
        A ``@dsl.pipeline`` function.

    Raises:
        ValueError: For an unknown data source.
    """
    if data_source not in ("file", "bigquery"):
        raise ValueError(f"unknown data source {data_source!r}; expected one of: file, bigquery")
    from kfp_mlops.components.prediction.component import fetch_model, predict_batch
    from kfp_mlops.components.validation import component as validation
    from kfp_mlops.pipelines.baseline import baseline_for, import_data

    @dsl.pipeline(name=PIPELINE_NAME,
                  description="Validate rows against the training schema and score them with the champion.")
    def batch_prediction(
        data_path: str,
        registry_uri: str,
        model_name: str,
        training_data_path: str = "",
        label: str = "",
        model_version: str = "champion",
    ):
        rows = import_data(data_path, "rows to score", data_source)
        training_statistics, schema, _ = baseline_for(not training_data, training_data_path, label, registry_uri,
                                                      model_name, model_version)
        statistics = validation.generate_statistics(dataset=rows.output).set_display_name("Input statistics")
        validate = validation.validate_data(
            statistics=statistics.outputs["statistics"], schema=schema,
            training_statistics=training_statistics, environment="SERVING",
        ).set_display_name("Validate input (schema and skew)")
        with dsl.If(validate.outputs["Output"] == True, name="input-valid"):  # noqa: E712
            champion = fetch_model(registry_uri=registry_uri, model_name=model_name, version=model_version)
            champion.set_display_name("Fetch model from registry").set_caching_options(False)
            predict_batch(
                model=champion.outputs["model"], data=rows.output, model_version=champion.outputs["Output"]
            ).set_display_name("Predict")

    return batch_prediction


def run_batch_prediction(data_path: str, training_data_path: str = "", model_name: str = "", label: str = "",
                         registry: str = "", model_version: str = "champion", log_path: str | None = None):
    """Runs batch prediction locally and returns the :class:`~kfp_mlops.pipelines.local_runner.LocalRun`.

    The rows are checked against the training baseline the model version carries in
    the registry; ``training_data_path`` (and ``label``) override it. Without
    ``label`` the version's own label is used.

    Raises:
        InputError: For a missing or unreadable CSV, a damaged registry, or a model not in it.
    """
    from pathlib import Path

    from kfp_mlops.components.core.bigquery import is_bigquery
    from kfp_mlops.components.core.data_contract import preflight
    from kfp_mlops.components.core.sources import is_remote
    from kfp_mlops.components.registry.baseline import registered_label
    from kfp_mlops.pipelines import local_runner

    bigquery = is_bigquery(data_path)  # a bq:// table or a query: read through the client
    for path in (data_path, training_data_path):
        if path:
            preflight(path)  # fail fast, naming the file, from the header and a bounded sample
    registry_path = Path(registry).absolute() if registry else local_runner.default_registry()
    label = label or registered_label(str(registry_path), model_name, model_version)
    print(f"Running pipeline 'batch-prediction' locally on {data_path} with {model_name} {model_version}", flush=True)
    return local_runner.run_pipeline(
        build_batch_prediction_pipeline(training_data=bool(training_data_path),
                                        data_source="bigquery" if bigquery else "file"),
        {"data_path": data_path if bigquery or is_remote(data_path) else str(Path(data_path).absolute()),
         "training_data_path": (training_data_path if is_remote(training_data_path)
                                else str(Path(training_data_path).absolute())) if training_data_path else "",
         "registry_uri": str(registry_path), "model_name": model_name, "label": label, "model_version": model_version},
        log_path=log_path,
    )
