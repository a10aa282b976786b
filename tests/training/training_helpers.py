"""Helpers for the training tests."""
from __future__ import annotations

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

# The penguins columns and their TFX types.
PENGUIN_TYPES = {
    "species": "BYTES", "island": "BYTES", "bill_length_mm": "FLOAT", "bill_depth_mm": "FLOAT",
    "flipper_length_mm": "FLOAT", "body_mass_g": "FLOAT", "sex": "BYTES", "year": "INT",
}


def write_schema(path, columns: dict[str, str], categorical_ints=(), domains: dict | None = None):
    """Writes a schema.pbtxt: ``columns`` maps a name to INT, FLOAT or BYTES."""
    schema = schema_pb2.Schema()
    for name, kind in columns.items():
        feature = schema.feature.add(name=name, type=getattr(schema_pb2, kind))
        if name in categorical_ints:
            feature.int_domain.is_categorical = True
        if domains and name in domains:
            feature.string_domain.value.extend(domains[name])
    path.write_text(text_format.MessageToString(schema))
    return path
