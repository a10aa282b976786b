"""Reading and writing TFX ``Schema`` files (``schema.pbtxt``), and the facts every capability reads from them.

Schema *inference* is validation's work (:mod:`kfp_mlops.components.validation.schema`);
training, the registry and serving only read schemas, through here.
"""
from __future__ import annotations

import os
from pathlib import Path

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from kfp_mlops.components.core.errors import InputError

# TFX's schema environments: the label is in TRAINING only, so SERVING rows may lack it.
TRAINING, SERVING = "TRAINING", "SERVING"


def is_categorical(feature: schema_pb2.Feature) -> bool:
    """True for a BYTES feature (compared with L-infinity); False for INT, FLOAT and dates."""
    return feature.type == schema_pb2.BYTES and not feature.time_domain.string_format


def write_schema(schema: schema_pb2.Schema, path: str | os.PathLike) -> None:
    """Writes a schema as text (``schema.pbtxt``), as TFDV's ``write_schema_text`` does."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text_format.MessageToString(schema))


def read_schema(path: str | os.PathLike) -> schema_pb2.Schema:
    """Reads a ``schema.pbtxt`` (text; binary is accepted too) and checks it.

    Raises:
        InputError: If the file is missing, does not parse, has no features, or a
            feature has no name, no type or points at a missing domain.
    """
    from kfp_mlops.components.core.protos import read_proto

    schema = read_proto(path, schema_pb2.Schema(), "schema file not found: {path}",
                        "{path} is not a TFX schema.pbtxt: {error}")
    if not schema.feature:
        raise InputError(f"{path} is not a usable schema: it declares no features")
    domains = {d.name for d in schema.string_domain}
    for index, feature in enumerate(schema.feature):
        if not feature.name:
            raise InputError(f"{path}: feature #{index + 1} has no name")
        if feature.type == schema_pb2.TYPE_UNKNOWN:
            raise InputError(f"{path}: feature {feature.name!r} has no type (INT, FLOAT or BYTES)")
        if feature.domain and feature.domain not in domains:
            raise InputError(f"{path}: feature {feature.name!r} names domain {feature.domain!r}, which is not defined")
    return schema


def string_domain(schema: schema_pb2.Schema, feature: schema_pb2.Feature) -> list[str] | None:
    """Returns a feature's allowed categories, or None when it has no closed domain."""
    if feature.HasField("string_domain"):
        return list(feature.string_domain.value)
    if feature.domain:
        for domain in schema.string_domain:
            if domain.name == feature.domain:
                return list(domain.value)
    return None



def set_comparators(feature: schema_pb2.Feature, drift: float, skew: float) -> None:
    """Sets a feature's drift and skew comparators: Jensen-Shannon for numbers and dates, L-infinity for
    categories; a threshold of 0 leaves that check off."""
    for comparator, threshold in ((feature.drift_comparator, drift), (feature.skew_comparator, skew)):
        if threshold <= 0:
            continue
        if is_categorical(feature):
            comparator.infinity_norm.threshold = threshold
        else:
            comparator.jensen_shannon_divergence.threshold = threshold



def set_thresholds(schema: schema_pb2.Schema, drift: float, skew: float | None = None) -> None:
    """Sets every feature's drift (and skew, by default the same) threshold; 0 turns the check off."""
    skew = drift if skew is None else skew
    for feature in schema.feature:
        feature.ClearField("drift_comparator")
        feature.ClearField("skew_comparator")
        set_comparators(feature, drift, skew)

