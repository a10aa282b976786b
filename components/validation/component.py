"""KFP components for data validation in TFX's formats: StatisticsGen, SchemaGen, ExampleValidator."""
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Output

from kfp_mlops.components.images import component


@component("core")
def generate_statistics(dataset: Input[Dataset], statistics: Output[Artifact]):
    """Computes statistics of a CSV or Parquet dataset, streamed so that memory stays bounded.

    Args:
        dataset: A CSV file with a header row, or Parquet (a file or a folder of shards,
            as the ingestion writes its splits).
        statistics: A binary ``DatasetFeatureStatisticsList`` (tensorflow-metadata),
            readable with TFDV's ``load_stats_binary``. Metadata: ``rows``, ``columns``.
    """
    from kfp_mlops.components.validation.validate import generate_statistics as compute

    statistics.metadata.update(compute(dataset.path, statistics.path))


@component("core")
def infer_schema(
    statistics: Input[Artifact],
    schema: Output[Artifact],
    label: str = "",
    drift_threshold: float = 0.1,
    skew_threshold: float = 0.1,
):
    """Infers a TFX schema: types, presence, categorical domains, drift and skew thresholds.

    Numeric ranges are not inferred, so ordinary new data does not fail on them;
    curate the schema and bring it in with ``import_schema`` to add them.

    Args:
        statistics: Statistics of the training data.
        schema: ``schema.pbtxt``, a text ``Schema`` proto (tensorflow-metadata).
        label: The label column, kept out of the SERVING environment.
        drift_threshold: Jensen-Shannon (numbers) and L-infinity (categories)
            threshold for drift; 0 turns drift checks off.
        skew_threshold: The same for training/serving skew.
    """
    from kfp_mlops.components.validation.validate import infer_schema as infer

    schema.metadata["features"] = infer(
        statistics.path, schema.path, label=label,
        drift_threshold=drift_threshold, skew_threshold=skew_threshold,
    )


@component("core")
def import_schema(schema_path: str, schema: Output[Artifact], schema_fingerprint: str = ""):
    """Brings in a curated ``schema.pbtxt`` (for example one edited after TFDV's ``infer_schema``).

    Args:
        schema_path: Path (or gs:// FUSE path) of the curated schema.
        schema: The same file, checked to parse as a TFX ``Schema``.
        schema_fingerprint: The file's content fingerprint (``fingerprint_data``):
            it makes the cache key follow the schema's content, not its path.
    """
    from kfp_mlops.components.validation.validate import import_schema as copy_schema

    schema.metadata["features"] = copy_schema(schema_path, schema.path)


@component("core")
def validate_data(
    statistics: Input[Artifact],
    schema: Input[Artifact],
    anomalies: Output[Artifact],
    report: Output[HTML],
    metrics: Output[Metrics],
    baseline_statistics: Input[Artifact] = None,
    training_statistics: Input[Artifact] = None,
    environment: str = "",
) -> bool:
    """Checks statistics against the schema, and for drift and skew; a gate for training.

    Detects missing and unexpected columns, type mismatches, new category
    values, out-of-range values, too many missing values, empty datasets and
    columns, drift (against ``baseline_statistics``) and skew (against
    ``training_statistics``) with the schema's per-feature thresholds.

    Args:
        statistics: Statistics of the data to check.
        schema: The schema to check against.
        anomalies: A text ``Anomalies`` proto (tensorflow-metadata).
        report: An HTML report, readable in the KFP and Vertex AI UIs.
        metrics: ``num_anomalies``, ``max_drift``, ``max_skew``, ``passed``, ...
        baseline_statistics: Statistics of an earlier span, for drift.
        training_statistics: Statistics of the training data, for skew.
        environment: ``TRAINING`` or ``SERVING`` to apply the schema's
            environments (no label is expected when serving); empty checks every feature.

    Returns:
        True when the data has no anomalies.
    """
    from kfp_mlops.components.validation.validate import validate

    result = validate(
        statistics.path, schema.path, anomalies.path, report.path, metrics_path=metrics.path,
        baseline_statistics_path=baseline_statistics.path if baseline_statistics else None,
        training_statistics_path=training_statistics.path if training_statistics else None,
        environment=environment,
    )
    for name, value in result.metrics.items():
        metrics.log_metric(name, value)
    anomalies.metadata["anomalies"] = result.anomalies
    return result.passed
