"""The training baseline that batch prediction and monitoring check new data against."""
from typing import Any

from kfp import dsl


def training_baseline(training_data_path: Any, label: Any, drift_threshold: Any = None) -> tuple[Any, Any]:
    """Adds the steps that import the training rows and derive their statistics and schema.

    Call it inside a ``@dsl.pipeline`` function.

    Args:
        training_data_path: The training CSV (a pipeline parameter).
        label: Its label column, kept out of the schema's SERVING environment.
        drift_threshold: Per-feature drift threshold for the schema; ``None`` keeps the default.

    Returns:
        The statistics task and the schema task.
    """
    from kfp_mlops.components.validation import component as validation

    training = import_data(training_data_path, "training rows")
    statistics = validation.generate_statistics(dataset=training.output).set_display_name("Training statistics")
    options = {} if drift_threshold is None else {"drift_threshold": drift_threshold}
    schema = validation.infer_schema(
        statistics=statistics.outputs["statistics"], label=label, **options
    ).set_display_name("Training schema")
    return statistics, schema


def import_data(data_path: Any, what: str, source: str = "file") -> Any:
    """Adds a never-cached content fingerprint and an importer of ``data_path`` that carries it.

    The fingerprint is the imported artifact's metadata, so the cache key of
    every step that reads it follows the content, not the path.

    Args:
        data_path: The data's path or URI (a pipeline parameter).
        what: Words for the display names, e.g. ``"training rows"``.
        source: ``file``, or ``bigquery``: ``data_path`` is a ``bq://`` table or a query,
            read through the client into a CSV Dataset.

    Returns:
        The importer task (or the BigQuery read), whose ``.output`` is the Dataset.
    """
    from kfp_mlops.components.data.component import fingerprint_data

    fingerprint = fingerprint_data(data_path=data_path).set_display_name(f"Fingerprint {what}")
    fingerprint.set_caching_options(False)
    if source == "bigquery":
        from kfp_mlops.components.data.gcpc_component import read_bigquery

        return read_bigquery(data_path=data_path, data_fingerprint=fingerprint.output).set_display_name(
            f"Read {what} from BigQuery")
    task = dsl.importer(artifact_uri=data_path, artifact_class=dsl.Dataset, reimport=False,
                        metadata={"fingerprint": fingerprint.output})
    return task.set_display_name(f"Import {what}")


def baseline_for(from_registry: bool, training_data_path: Any, label: Any, registry_uri: Any, model_name: Any,
                 version: Any = "champion", drift_threshold: Any = None) -> tuple[Any, Any, Any]:
    """Adds the steps that give the baseline new rows are checked against: (statistics, schema, label).

    Call it inside a ``@dsl.pipeline`` function. The choice is made when the
    pipeline is built (``dsl.OneOf`` over artifacts fails under kfp.local).

    Args:
        from_registry: Take the statistics, schema and label the registered version
            carries (``fetch_baseline``); False derives them from ``training_data_path``.
        training_data_path: The training CSV (used when ``from_registry`` is False).
        label: The label column; with ``from_registry``, empty means the version's own.
        registry_uri: The model registry.
        model_name: The registered model.
        version: The version or alias whose baseline to take.
        drift_threshold: Per-feature drift threshold; ``None`` keeps the schema's.

    Returns:
        The statistics output, the schema output, and the label (a parameter or a task output).
    """
    if not from_registry:
        statistics, schema = training_baseline(training_data_path, label, drift_threshold)
        return statistics.outputs["statistics"], schema.outputs["schema"], label
    from kfp_mlops.components.registry.component import fetch_baseline

    options = {} if drift_threshold is None else {"drift_threshold": drift_threshold}
    task = fetch_baseline(registry_uri=registry_uri, model_name=model_name, version=version, label=label, **options)
    task.set_display_name("Fetch training baseline from registry").set_caching_options(False)
    return task.outputs["statistics"], task.outputs["schema"], task.outputs["Output"]
