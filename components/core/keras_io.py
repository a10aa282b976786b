"""Loading and scoring Keras model directories (used by ``model_io.load_model``).

A Keras model of ours takes a dict of named inputs, one per feature, each of
shape ``(rows, 1)``: ``float32`` for numeric features, ``string`` for
categorical ones (categorical integers are sent as their decimal strings).
Missing numbers are NaN and missing categories the empty string; the model
handles both inside.
"""
from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pandas as pd

from kfp_mlops.components.core.features import cast_frame
from kfp_mlops.components.core.model_io import Feature, FeatureContract

# Up to this many rows are scored with one direct call (low latency for serving);
# more go through ``model.predict`` in batches.
DIRECT_CALL_ROWS = 4096


def _register_layers():
    import keras

    @keras.saving.register_keras_serializable(package="kfp_mlops")
    class FillMissing(keras.layers.Layer):
        """Replaces NaN with a constant (0 after normalization: the training mean)."""

        def __init__(self, value: float = 0.0, **kwargs):
            super().__init__(**kwargs)
            self.value = value

        def call(self, inputs):
            return keras.ops.where(keras.ops.isnan(inputs), keras.ops.cast(self.value, inputs.dtype), inputs)

        def get_config(self):
            return {**super().get_config(), "value": self.value}

    return FillMissing


_LAYERS: dict[str, Any] = {}


def custom_layers() -> dict[str, Any]:
    """Returns our serializable layers by name, registering them once."""
    if not _LAYERS:
        _LAYERS["FillMissing"] = _register_layers()
    return _LAYERS


def to_inputs(frame: pd.DataFrame, features: list[Feature]) -> dict[str, np.ndarray]:
    """Turns raw rows into the model's dict of named inputs (``(rows, 1)`` arrays)."""
    cast = cast_frame(frame, features)
    inputs = {}
    for feature in features:
        values = cast[feature.name].to_numpy()
        if feature.kind == "categorical":
            inputs[feature.name] = np.array(["" if v is None else v for v in values], dtype=object).reshape(-1, 1)
        else:
            inputs[feature.name] = values.astype("float32").reshape(-1, 1)
    return inputs


def load(path: str | os.PathLike) -> Any:
    """Loads a ``model.keras`` file written by the Keras trainer."""
    import keras

    custom_layers()
    with warnings.catch_warnings():  # inputs keyed by column names, tensors by Keras-safe names
        warnings.filterwarnings("ignore", message="When providing `inputs` as a dict")
        return keras.saving.load_model(str(path), compile=False)


def outputs(model: Any, frame: pd.DataFrame, contract: FeatureContract) -> np.ndarray:
    """The model's raw outputs for raw rows: probabilities or values, float64."""
    import tensorflow as tf

    # Keras 3 rejects numpy string arrays: everything goes in as tensors.
    tensors = {name: tf.constant(value) for name, value in to_inputs(frame, contract.features).items()}
    if len(frame) <= DIRECT_CALL_ROWS:
        result = model(tensors, training=False)
    else:
        result = model.predict(tensors, batch_size=DIRECT_CALL_ROWS, verbose=0)
    return np.asarray(result, dtype="float64")


def predict_proba(model: Any, frame: pd.DataFrame, contract: FeatureContract) -> np.ndarray:
    """Class probabilities, shape (rows, classes), in ``contract.classes`` order."""
    return outputs(model, frame, contract)


def predict(model: Any, frame: pd.DataFrame, contract: FeatureContract) -> np.ndarray:
    """Predicted class labels (classification) or values (regression)."""
    result = outputs(model, frame, contract)
    if contract.task == "classification":
        return np.asarray(contract.classes)[np.argmax(result, axis=1)]
    return result[:, 0]
