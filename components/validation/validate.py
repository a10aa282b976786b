"""Data validation to the TFX standard: one library function per component, plus a CSV front door.

* :func:`generate_statistics` (StatisticsGen): CSV -> ``DatasetFeatureStatisticsList``.
* :func:`infer_schema` (SchemaGen): statistics -> ``schema.pbtxt``.
* :func:`import_schema` (ImportSchemaGen): a curated ``schema.pbtxt`` -> checked copy.
* :func:`validate` (ExampleValidator): statistics + schema [+ baseline, + training
  statistics] -> ``Anomalies``, an HTML report, metrics and a pass/fail verdict.
* :func:`validate_csv`: all of it on CSV files, for ``kfp-mlops validate``.
"""
from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from kfp_mlops.components.core import anomalies as anomalies_io
from kfp_mlops.components.core.artifacts import write_metrics_file
from kfp_mlops.components.core.schema_io import read_schema, write_schema
from kfp_mlops.components.core.wording import plural
from kfp_mlops.components.validation.checks import check_statistics
from kfp_mlops.components.validation.report import write_report
from kfp_mlops.components.validation.schema import DEFAULT_THRESHOLD, infer_schema_from_statistics
from kfp_mlops.components.validation.statistics import (
    common_stats,
    compute_statistics,
    feature_name,
    read_statistics,
    write_statistics,
)

logger = logging.getLogger(__name__)


@dataclass
class ValidationResult:
    """The verdict of :func:`validate`."""

    passed: bool
    metrics: dict[str, float]
    anomalies: list[str] = field(default_factory=list)
    drift: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    skew: dict[str, tuple[str, float, float]] = field(default_factory=dict)


def generate_statistics(data_path: str | os.PathLike, statistics_path: str | os.PathLike) -> dict[str, int]:
    """Computes statistics of a CSV file and writes them (binary ``DatasetFeatureStatisticsList``).

    Args:
        data_path: A CSV file with a header row.
        statistics_path: Where to write the statistics.

    Returns:
        ``{"rows": ..., "columns": ...}``.

    Raises:
        InputError: If the file is not a readable CSV; the message names the line or column.
    """
    logger.info(f"reading {data_path}")
    stats = compute_statistics(data_path)
    write_statistics(stats, statistics_path)
    dataset = stats.datasets[0]
    logger.info(f"{dataset.num_examples} rows, {len(dataset.features)} columns")
    return {"rows": int(dataset.num_examples), "columns": len(dataset.features)}


def infer_schema(
    statistics_path: str | os.PathLike,
    schema_path: str | os.PathLike,
    label: str = "",
    drift_threshold: float = DEFAULT_THRESHOLD,
    skew_threshold: float = DEFAULT_THRESHOLD,
    range_margin: float = 0.0,
) -> int:
    """Infers a schema from statistics and writes it as ``schema.pbtxt``.

    See :func:`.schema.infer_schema_from_statistics` for what is inferred.

    Returns:
        The number of features in the schema.

    Raises:
        InputError: For an empty dataset or a label that is not a column.
    """
    schema = infer_schema_from_statistics(
        read_statistics(statistics_path), label=label, drift_threshold=drift_threshold,
        skew_threshold=skew_threshold, range_margin=range_margin,
    )
    write_schema(schema, schema_path)
    logger.info(f"{len(schema.feature)} features -> {schema_path}")
    return len(schema.feature)


def import_schema(source_path: str | os.PathLike, schema_path: str | os.PathLike) -> int:
    """Checks a curated ``schema.pbtxt`` and copies it, byte for byte, to ``schema_path``.

    Returns:
        The number of features in the schema.

    Raises:
        InputError: If the file is missing or is not a usable TFX schema.
    """
    schema = read_schema(source_path)
    Path(schema_path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source_path, schema_path)
    return len(schema.feature)


def validate(
    statistics_path: str | os.PathLike,
    schema_path: str | os.PathLike,
    anomalies_path: str | os.PathLike,
    report_path: str | os.PathLike,
    metrics_path: str | os.PathLike | None = None,
    baseline_statistics_path: str | os.PathLike | None = None,
    training_statistics_path: str | os.PathLike | None = None,
    environment: str = "",
) -> ValidationResult:
    """Validates statistics against a schema, and for drift and skew; writes anomalies and a report.

    Args:
        statistics_path: Statistics of the data to check.
        schema_path: The ``schema.pbtxt`` to check against.
        anomalies_path: Where to write the ``Anomalies`` text proto.
        report_path: Where to write the HTML report.
        metrics_path: Where to write the metrics as JSON (optional).
        baseline_statistics_path: Statistics of an earlier span, for drift.
        training_statistics_path: Statistics of the training data, for skew.
        environment: ``TRAINING`` or ``SERVING`` to apply the schema's environments.

    Returns:
        The verdict, metrics, one line per anomaly and the distances measured.
    """
    stats = read_statistics(statistics_path)
    baseline = read_statistics(baseline_statistics_path) if baseline_statistics_path else None
    training = read_statistics(training_statistics_path) if training_statistics_path else None
    result = check_statistics(stats, read_schema(schema_path), baseline=baseline, training=training,
                              environment=environment)
    anomalies_io.write_anomalies(result.anomalies, anomalies_path)
    write_report(report_path, stats, result, reference=baseline or training)
    lines = anomalies_io.describe_anomalies(result.anomalies)
    metrics = {
        "num_examples": float(stats.datasets[0].num_examples),
        "num_columns": float(len(stats.datasets[0].features)),
        "num_anomalies": float(len(lines)),
        "num_failing_columns": float(len(result.anomalies.anomaly_info)),
        "max_drift": max((v for _, v, _ in result.drift.values()), default=0.0),
        "max_skew": max((v for _, v, _ in result.skew.values()), default=0.0),
        "passed": float(not lines),
    }
    if metrics_path:
        write_metrics_file(metrics_path, metrics)
    for line in lines:
        logger.info(f"{line}")
    logger.info(f"{'passed' if not lines else 'FAILED with ' + plural(len(lines), 'anomaly', 'anomalies')}")
    return ValidationResult(not lines, metrics, lines, result.drift, result.skew)


@dataclass
class CsvValidation:
    """What :func:`validate_csv` wrote and found."""

    result: ValidationResult
    paths: dict[str, str]
    columns: list[dict] = field(default_factory=list)


def _label_out_of_serving(schema_path: str | os.PathLike, label: str, out: Path) -> str:
    """Writes a copy of the schema whose ``label`` is in TRAINING only; returns its path.

    Raises:
        InputError: When the schema has no feature named ``label``.
    """
    from kfp_mlops.components.core.errors import InputError
    from kfp_mlops.components.core.schema_io import SERVING, TRAINING

    schema = read_schema(schema_path)
    feature = next((f for f in schema.feature if f.name == label), None)
    if feature is None:
        raise InputError(f"label column {label!r} is not a feature of {schema_path}; features are: "
                         f"{', '.join(f.name for f in schema.feature)}")
    for name in (TRAINING, SERVING):
        if name not in schema.default_environment:
            schema.default_environment.append(name)
    if SERVING not in feature.not_in_environment:
        feature.not_in_environment.append(SERVING)
    if SERVING in feature.in_environment:
        feature.in_environment.remove(SERVING)
    target = out / "schema.pbtxt"
    if target.absolute() == Path(schema_path).absolute():
        target = out / "schema.label.pbtxt"
    out.mkdir(parents=True, exist_ok=True)
    write_schema(schema, str(target))
    return str(target)


def validate_csv(
    data_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    schema_path: str | os.PathLike | None = None,
    baseline_path: str | os.PathLike | None = None,
    label: str = "",
    drift_threshold: float = DEFAULT_THRESHOLD,
    environment: str = "",
) -> CsvValidation:
    """Validates a CSV file on its own: statistics, schema (given or inferred), anomalies, report.

    Without ``schema_path`` the schema is inferred from the baseline CSV when
    one is given (as TFX infers it from training data), else from the data
    itself; it is written to ``out_dir`` for the user to curate. With a schema
    and a ``label``, the label is kept out of the SERVING environment of a copy
    of the schema written to ``out_dir``.

    Args:
        environment: ``TRAINING`` or ``SERVING`` (e.g. unlabelled serving rows
            against a labelled schema); empty checks every feature.

    Returns:
        The verdict, the paths written and a per-column summary.
    """
    out = Path(out_dir)
    paths = {"statistics": str(out / "statistics.pb"), "anomalies": str(out / "anomalies.pbtxt"),
             "report": str(out / "report.html"), "metrics": str(out / "metrics.json"),
             "schema": str(schema_path or out / "schema.pbtxt")}
    if schema_path and label:
        paths["schema"] = _label_out_of_serving(schema_path, label, out)
    generate_statistics(data_path, paths["statistics"])
    if baseline_path:
        paths["baseline_statistics"] = str(out / "baseline_statistics.pb")
        generate_statistics(baseline_path, paths["baseline_statistics"])
    if not schema_path:
        infer_schema(paths.get("baseline_statistics", paths["statistics"]), paths["schema"],
                     label=label, drift_threshold=drift_threshold, skew_threshold=drift_threshold)
    result = validate(paths["statistics"], paths["schema"], paths["anomalies"], paths["report"],
                      metrics_path=paths["metrics"],
                      baseline_statistics_path=paths.get("baseline_statistics"), environment=environment.upper())
    anomalies = anomalies_io.read_anomalies(paths["anomalies"])
    columns = []
    for feature in read_statistics(paths["statistics"]).datasets[0].features:
        name = feature_name(feature)
        common = common_stats(feature)
        total = common.num_non_missing + common.num_missing
        info = anomalies.anomaly_info.get(name) if name in anomalies.anomaly_info else None
        columns.append({
            "column": name,
            "type": feature.Type.Name(feature.type),
            "missing": common.num_missing / total if total else 0.0,
            "drift": result.drift.get(name, ("", None, None))[1],
            "problems": [r.short_description for r in info.reason] if info else [],
        })
    seen = {c["column"] for c in columns}
    for name in sorted(set(anomalies.anomaly_info) - seen):
        columns.append({"column": name, "type": "-", "missing": 1.0, "drift": None,
                        "problems": [r.short_description for r in anomalies.anomaly_info[name].reason]})
    return CsvValidation(result, paths, columns)
