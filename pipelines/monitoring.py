"""The ``monitoring`` pipeline: drift and decay checks that trigger retraining.

Flow::

    serving data (the endpoint's prediction log, or a batch) -> statistics
    the champion's training baseline (schema + statistics, from the registry; or, with a training CSV,
    statistics -> schema derived from it), with the drift comparators set
      -> validate serving data (SERVING environment) with the training statistics as drift baseline
    the champion's attribution profile on the serving rows vs its training profile (attribution drift)
      -> decide: drift above thresholds, or the champion's metric decayed on newly labelled rows
      -> [retrain] trigger the training pipeline on the new data window (local run or submitted run)
"""
from typing import Callable

from kfp import dsl

PIPELINE_NAME = "monitoring"


def build_monitoring_pipeline(target: str = "local", training_data: bool = False) -> Callable:
    """Builds the monitoring pipeline.

    Args:
        target: ``local``, ``vertex`` or ``kfp``: where retraining runs are started
            (a local run, or a run submitted with the ``submit_options`` parameter).
        training_data: Derive the drift baseline from the ``training_data_path`` CSV
            instead of taking the one the champion carries in the registry.

    Returns:
        A ``@dsl.pipeline`` function.
    """
    from kfp_mlops.components.monitoring import component as monitoring
    from kfp_mlops.components.validation import component as validation
    from kfp_mlops.pipelines.baseline import baseline_for

    @dsl.pipeline(name=PIPELINE_NAME,
                  description="Detect drift and decay of the champion, and retrain on the new data window.")
    def monitoring_pipeline(
        serving_data: str,
        registry_uri: str,
        model_name: str,
        training_data_path: str = "",
        label: str = "",
        new_data_path: str = "",
        metric: str = "accuracy",
        max_metric_drop: float = 0.05,
        retrain_on_drift: bool = True,
        drift_threshold: float = 0.1,
        submit_options: dict = {},
        since: str = "",
        until: str = "",
        retrain_cooldown_seconds: float = 3600.0,
        retraining_ledger: str = "",
        attribution_drift_threshold: float = 0.1,
    ):
        serving = monitoring.collect_serving_data(
            source=serving_data, since=since, until=until).set_display_name("Collect serving data")
        serving.set_caching_options(False)  # a log folder changes under the same path
        baseline, schema, label_column = baseline_for(not training_data, training_data_path, label, registry_uri,
                                                      model_name, "champion", drift_threshold)
        current = validation.generate_statistics(
            dataset=serving.outputs["dataset"]).set_display_name("Serving statistics")
        check = validation.validate_data(
            statistics=current.outputs["statistics"], schema=schema,
            baseline_statistics=baseline, environment="SERVING",
        ).set_display_name("Check drift")
        attributions = monitoring.check_attribution_drift(
            serving=serving.outputs["dataset"], registry_uri=registry_uri, model_name=model_name,
            threshold=attribution_drift_threshold,
        ).set_display_name("Check attribution drift")
        attributions.set_caching_options(False)  # depends on the registry's champion
        decide = monitoring.decide_retraining(
            anomalies=check.outputs["anomalies"], attribution_drift=attributions.outputs["comparison"],
            registry_uri=registry_uri, model_name=model_name,
            labelled_data_path=new_data_path, label=label_column, metric=metric, max_metric_drop=max_metric_drop,
            retrain_on_drift=retrain_on_drift,
        ).set_display_name("Decide on retraining")
        decide.set_caching_options(False)  # depends on the registry's champion
        with dsl.If(decide.outputs["Output"] == True, name="retrain"):  # noqa: E712
            monitoring.trigger_retraining(
                target=target, data_path=new_data_path, label=label_column, model_name=model_name,
                registry_uri=registry_uri, submit_options=submit_options, ledger_path=retraining_ledger,
                cooldown_seconds=retrain_cooldown_seconds,
            ).set_display_name("Trigger retraining").set_caching_options(False)

    return monitoring_pipeline


def _argument(path: str) -> str:
    """A data path for the tasks: URIs (``bq://``, ``gs://``) and BigQuery queries as given, local paths absolute."""
    from pathlib import Path

    from kfp_mlops.components.core.bigquery import is_bigquery

    return path if not path or "://" in path or is_bigquery(path) else str(Path(path).absolute())


def run_monitoring(serving_data: str, training_data_path: str = "", model_name: str = "", label: str = "",
                   new_data_path: str = "", registry: str = "", log_path: str | None = None, **parameters):
    """Runs monitoring locally (retraining, when triggered, is a local run too).

    Drift is measured against the training baseline the champion carries in the
    registry; ``training_data_path`` (and ``label``) override it. Without
    ``label`` the champion's own label is used.

    Returns:
        The :class:`~kfp_mlops.pipelines.local_runner.LocalRun`.

    Raises:
        InputError: For a damaged registry, or a model with no champion.
    """
    from pathlib import Path

    from kfp_mlops.components.registry.baseline import registered_label
    from kfp_mlops.pipelines import local_runner

    registry_path = Path(registry).absolute() if registry else local_runner.default_registry()
    label = label or registered_label(str(registry_path), model_name)
    print(f"Running pipeline 'monitoring' locally on {serving_data}", flush=True)
    # Keep URIs (bq://, gs://, s3://) as they are; make local paths absolute for the tasks.
    source = serving_data if "://" in serving_data else str(Path(serving_data).absolute())
    return local_runner.run_pipeline(
        build_monitoring_pipeline(training_data=bool(training_data_path)),
        {"serving_data": source,
         "training_data_path": str(Path(training_data_path).absolute()) if training_data_path else "",
         "registry_uri": str(registry_path), "model_name": model_name, "label": label,
         "new_data_path": _argument(new_data_path), **parameters},
        log_path=log_path,
    )
