"""Anomalies in TFX's format (``tensorflow_metadata`` ``Anomalies``), and their description.

Each anomaly is a ``Reason`` under the column's ``AnomalyInfo``, typed with the
TFX ``AnomalyInfo.Type`` that fits. The ``short_description`` of a reason is
one compact line such as ``drift (jensen_shannon 0.31 > 0.1)``; the CLI prints
``column: short_description`` per reason with :func:`describe_anomalies`.
"""
from __future__ import annotations

import os
from pathlib import Path

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

Kind = anomalies_pb2.AnomalyInfo.Type
DATASET = "(dataset)"


def new_anomalies(schema: schema_pb2.Schema) -> anomalies_pb2.Anomalies:
    """Returns an empty Anomalies proto whose baseline is the schema checked against."""
    anomalies = anomalies_pb2.Anomalies()
    anomalies.baseline.CopyFrom(schema)
    anomalies.anomaly_name_format = anomalies_pb2.Anomalies.SERIALIZED_PATH
    return anomalies


def add_anomaly(
    anomalies: anomalies_pb2.Anomalies, column: str, kind: int, short: str, description: str
) -> None:
    """Adds one reason to a column's anomaly (or to the dataset's when ``column`` is DATASET).

    Args:
        anomalies: The proto to add to.
        column: The column at fault, or :data:`DATASET`.
        kind: An ``AnomalyInfo.Type`` value, e.g. ``Kind.SCHEMA_MISSING_COLUMN``.
        short: One compact line, e.g. ``"new values ['x']"``.
        description: A full sentence for the report.
    """
    if column == DATASET:
        info = anomalies.dataset_anomaly_info
    else:
        info = anomalies.anomaly_info[column]
        if not info.path.step:
            info.path.step.append(column)
    info.severity = anomalies_pb2.AnomalyInfo.ERROR
    info.reason.add(type=kind, short_description=short, description=description)
    if len(info.reason) == 1:
        info.short_description, info.description = short, description
    else:
        info.short_description = "Multiple errors"
        info.description = " ".join(r.description for r in info.reason)


def add_measurement(
    anomalies: anomalies_pb2.Anomalies, column: str, skew: bool, measure: int, value: float, threshold: float
) -> None:
    """Records a drift or skew distance in ``drift_skew_info``, over or under its threshold."""
    for info in anomalies.drift_skew_info:
        if list(info.path.step) == [column]:
            break
    else:
        info = anomalies.drift_skew_info.add()
        info.path.step.append(column)
    target = info.skew_measurements if skew else info.drift_measurements
    target.add(type=measure, value=value, threshold=threshold)


def count(anomalies: anomalies_pb2.Anomalies) -> int:
    """Number of anomaly reasons, dataset-level ones included."""
    return sum(len(info.reason) for info in anomalies.anomaly_info.values()) + len(
        anomalies.dataset_anomaly_info.reason
    )


def write_anomalies(anomalies: anomalies_pb2.Anomalies, path: str | os.PathLike) -> None:
    """Writes anomalies as a text proto (TFDV's ``write_anomalies_text``)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text_format.MessageToString(anomalies))


def read_anomalies(path: str | os.PathLike) -> anomalies_pb2.Anomalies:
    """Reads an Anomalies text (or binary) proto.

    Raises:
        InputError: If the file is missing or is not an Anomalies proto.
    """
    from kfp_mlops.components.core.protos import read_proto

    return read_proto(path, anomalies_pb2.Anomalies(), "anomalies file not found: {path}",
                      "{path} is not an Anomalies proto")


def _reasons(info: anomalies_pb2.AnomalyInfo) -> list[tuple[str, str]]:
    if info.reason:
        return [(r.short_description or Kind.Name(r.type), r.description) for r in info.reason]
    return [(info.short_description, info.description)] if info.short_description else []


def describe_anomalies(anomalies: anomalies_pb2.Anomalies | str | os.PathLike) -> list[str]:
    """Returns one line per anomaly, ``"column: what is wrong"``, sorted by column.

    Works on our anomalies and on TFDV's (whose reasons carry TFDV's texts).

    Args:
        anomalies: The proto, or the path of an anomalies file.

    Returns:
        Lines such as ``"bill_length_mm: drift (jensen_shannon 0.31 > 0.1)"``.
    """
    if not isinstance(anomalies, anomalies_pb2.Anomalies):
        anomalies = read_anomalies(anomalies)
    lines = [f"{DATASET}: {short}" for short, _ in _reasons(anomalies.dataset_anomaly_info)]
    for column in sorted(anomalies.anomaly_info):
        lines.extend(f"{column}: {short}" for short, _ in _reasons(anomalies.anomaly_info[column]))
    return lines


def failing_columns(anomalies: anomalies_pb2.Anomalies) -> list[str]:
    """Columns with at least one anomaly, sorted."""
    return sorted(anomalies.anomaly_info)
