"""KFP components for monitoring: serving data, the retraining decision and the trigger."""
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Output

from kfp_mlops.components.images import component


@component("core")
def collect_serving_data(source: str, dataset: Output[Dataset], drop_columns: list = [], since: str = "",
                         until: str = ""):
    """Writes the rows to monitor as a CSV dataset, from where the platform logs its traffic.

    Args:
        source: A serving log (the local endpoint's prediction log, or the KServe payload
            sink's output: a folder, ``gs://`` or ``s3://``), a Vertex AI request-response
            logging table (``bq://PROJECT.DATASET.TABLE``), or a CSV of rows.
        dataset: The feature rows, CSV.
        drop_columns: Columns to leave out (e.g. a label column of a labelled batch).
        since: Keep rows served at or after this time (ISO 8601); empty: from the start.
        until: Keep rows served before this time (ISO 8601); empty: up to now.
    """
    from kfp_mlops.components.monitoring.serving_data import collect_serving_data as collect

    rows = collect(source, dataset.path, drop_columns=tuple(drop_columns), since=since or None, until=until or None)
    dataset.metadata.update({"rows": rows, "source": source, "format": "csv", "since": since, "until": until})


@component("core")
def decide_retraining(
    anomalies: Input[Artifact],
    report: Output[Markdown],
    metrics: Output[Metrics],
    registry_uri: str,
    model_name: str,
    labelled_data_path: str = "",
    label: str = "",
    metric: str = "accuracy",
    max_metric_drop: float = 0.05,
    retrain_on_drift: bool = True,
    attribution_drift: Input[Artifact] = None,
) -> bool:
    """Decides whether to retrain: drift above the schema's thresholds, or decay of the champion.

    Args:
        anomalies: Serving data checked against the training schema, with the
            training statistics as the drift baseline.
        report: The decision and its reasons.
        metrics: ``retrain``, ``drifted_features``, ``metric_drop``.
        registry_uri: The model registry.
        model_name: The registered model whose champion is watched.
        labelled_data_path: Newly labelled rows (ground truth arriving later), if any.
        label: Their label column.
        metric: The metric watched for decay.
        max_metric_drop: Decay beyond this triggers retraining.
        retrain_on_drift: Whether drift alone triggers retraining.
        attribution_drift: The champion's attribution profile on the serving rows against
            its training profile (``check_attribution_drift``); its verdict joins the report.

    Returns:
        True when the model should be retrained.
    """
    from kfp_mlops.components.core.artifacts import write_metrics_file
    from kfp_mlops.components.monitoring.retraining import decide_for_champion

    decision = decide_for_champion(
        anomalies.path, registry_uri, model_name, labelled_data_path=labelled_data_path, label=label,
        metric=metric, max_metric_drop=max_metric_drop, retrain_on_drift=retrain_on_drift,
        attribution_drift_path=attribution_drift.path if attribution_drift else "",
    )
    with open(report.path, "w") as handle:
        handle.write(decision.to_markdown())
    values = decision.metrics()
    for name, value in values.items():
        metrics.log_metric(name, value)
    write_metrics_file(metrics.path, values)
    return decision.retrain


@component("core")
def check_attribution_drift(
    serving: Input[Dataset],
    comparison: Output[Artifact],
    metrics: Output[Metrics],
    registry_uri: str,
    model_name: str,
    threshold: float = 0.1,
) -> bool:
    """Compares the champion's feature attributions on the serving rows with its training profile.

    Each side is the mean absolute per-row attribution of every feature (baseline
    substitution); a feature drifts when its share moves by more than ``threshold`` of the
    training total (as Vertex AI Model Monitoring's attribution drift).

    Args:
        serving: Serving rows, CSV.
        comparison: JSON: both profiles, the distance per feature and the drifted features.
        metrics: ``attribution_drifted_features``, ``max_attribution_drift``, ``serving_rows``.
        registry_uri: The model registry.
        model_name: The registered model whose champion serves.
        threshold: Largest allowed move of a feature's share.

    Returns:
        True when some feature's attribution drifted.
    """
    from kfp_mlops.components.core.artifacts import write_metrics_file
    from kfp_mlops.components.monitoring.attribution_drift import attribution_drift_for_champion

    drift = attribution_drift_for_champion(serving.path, registry_uri, model_name, threshold)
    drift.write(comparison.path)
    comparison.metadata["drifted"] = sorted(drift.drifted)
    values = drift.metrics()
    for name, value in values.items():
        metrics.log_metric(name, value)
    write_metrics_file(metrics.path, values)
    return bool(drift.drifted)


@component("core")
def trigger_retraining(
    target: str,
    data_path: str,
    label: str,
    model_name: str,
    registry_uri: str,
    submit_options: dict = {},
    ledger_path: str = "",
    cooldown_seconds: float = 3600.0,
) -> str:
    """Starts the ``training`` pipeline on the new data window, the way the CLI does.

    Locally it is a local run; for ``vertex`` or ``kfp`` a submitted run.

    Args:
        target: ``local``, ``vertex`` or ``kfp``.
        data_path: The new training window (CSV).
        label: The label column.
        model_name: The registered model to retrain.
        registry_uri: The model registry.
        submit_options: For remote targets: ``project``, ``region``, ``pipeline_root``, ``host``, ...
        ledger_path: The retraining ledger that deduplicates windows (a ``/gcs/...`` path on
            Vertex AI); empty: next to a local registry.
        cooldown_seconds: No second retraining of the model within this time.

    Returns:
        What happened, in one line.
    """
    from kfp_mlops.components.monitoring.trigger import trigger_training

    outcome = trigger_training(
        target, {"data_path": data_path, "label": label, "model_name": model_name, "registry_uri": registry_uri},
        submit_options, ledger_path=ledger_path, cooldown_seconds=cooldown_seconds,
    ).line()
    print(f"[monitoring] {outcome}", flush=True)
    return outcome
