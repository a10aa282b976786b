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


def import_data(data_path: Any, what: str) -> Any:
    """Adds a never-cached content fingerprint and an importer of ``data_path`` that carries it.

    The fingerprint is the imported artifact's metadata, so the cache key of
    every step that reads it follows the content, not the path.

    Args:
        data_path: The data's path or URI (a pipeline parameter).
        what: Words for the display names, e.g. ``"training rows"``.

    Returns:
        The importer task.
    """
    from kfp_mlops.components.data.component import fingerprint_data

    fingerprint = fingerprint_data(data_path=data_path).set_display_name(f"Fingerprint {what}")
    fingerprint.set_caching_options(False)
    task = dsl.importer(artifact_uri=data_path, artifact_class=dsl.Dataset, reimport=False,
                        metadata={"fingerprint": fingerprint.output})
    return task.set_display_name(f"Import {what}")
