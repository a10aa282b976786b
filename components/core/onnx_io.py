"""Scoring a model directory's ONNX export with onnxruntime (used by ``model_io.load_model``).

A trainer writes ``model.onnx`` next to the native model only when the export
predicted the same as the native model on the eval rows (see
:mod:`.onnx_export`); ``onnx_check.json`` records that check either way. Both
files are in the model's manifest.

The ONNX graph takes one input per feature, shape ``(rows, 1)``, in the
contract's order (names in ``onnx_check.json``):

- numeric features (floats, ints, booleans as 0/1, dates as days since
  1970-01-01) as ``float32``, NaN for a missing value;
- categorical features as strings (integers in decimal: ``"3"``), ``""`` for
  a missing value.

That cast is :func:`feed`, the same for scikit-learn and Keras exports; the
rest (imputation, scaling, encoding, the model) is inside the graph.
``KFP_MLOPS_RUNTIME=native`` turns the ONNX path off.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kfp_mlops.components.core.features import cast_column

logger = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
CHECK_FILE = "onnx_check.json"
RUNTIME_ENV = "KFP_MLOPS_RUNTIME"  # "native" turns the ONNX path off; "onnx" (default) uses it when checked


def feed(frame: pd.DataFrame, features: list, names: list[str]) -> dict[str, np.ndarray]:
    """The ONNX inputs for raw rows: one ``(rows, 1)`` array per feature, keyed by ``names``.

    The same cast as :func:`~.features.cast_column`, with a direct path for
    columns that already hold numbers or strings (a one-row request costs
    microseconds, not a DataFrame).
    """
    inputs = {}
    for feature, name in zip(features, names, strict=True):
        column = frame[feature.name]
        values = column.to_numpy()
        if feature.kind == "categorical":
            if feature.dtype == "string" and values.dtype == object:
                out = ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in values]
            else:
                out = ["" if v is None else v for v in cast_column(column, feature)]
            inputs[name] = np.array(out, dtype=object).reshape(-1, 1)
        elif feature.dtype in ("float", "int") and values.dtype.kind in "fiu":
            inputs[name] = values.astype("float32").reshape(-1, 1)
        else:
            inputs[name] = cast_column(column, feature).astype("float32").reshape(-1, 1)
    return inputs


def read_check(model_dir: str | os.PathLike) -> dict | None:
    """The recorded export check of a model directory, or None when it has none."""
    path = Path(model_dir) / CHECK_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def use_onnx(model_dir: str | os.PathLike) -> tuple[bool, str]:
    """Whether to serve ``model_dir`` with onnxruntime, and why (one line)."""
    if os.environ.get(RUNTIME_ENV, "onnx").lower() == "native":
        return False, f"{RUNTIME_ENV}=native"
    check = read_check(model_dir)
    if check is None:
        return False, f"no {CHECK_FILE} (a model from an older trainer)"
    if not check.get("passed") or not (Path(model_dir) / ONNX_FILE).is_file():
        return False, f"the ONNX export did not pass its check: {check.get('reason', 'unknown')}"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False, "onnxruntime is not installed"
    return True, "the ONNX export passed its check"


class OnnxModel:
    """An onnxruntime session over a checked export; scores raw rows like the native model."""

    def __init__(self, data: bytes, check: dict, threads: int | None = None):
        import onnxruntime as ort

        from kfp_mlops.components.core.threads import cpu_budget

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or cpu_budget()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        self.inputs: list[str] = list(check["inputs"])
        self.outputs: dict[str, str] = dict(check["outputs"])

    def _run(self, frame: pd.DataFrame, features: list, kind: str) -> np.ndarray:
        return self.session.run([self.outputs[kind]], feed(frame, features, self.inputs))[0]

    def predict_proba(self, frame: pd.DataFrame, contract: Any) -> np.ndarray:
        """Class probabilities, shape (rows, classes), float64."""
        return np.asarray(self._run(frame, contract.features, "probabilities"), dtype="float64")

    def predict(self, frame: pd.DataFrame, contract: Any) -> np.ndarray:
        """Labels in the contract's class values, or regression values (float64)."""
        if contract.task != "classification":
            return np.asarray(self._run(frame, contract.features, "value"), dtype="float64").reshape(-1)
        if self.outputs.get("label"):
            labels = np.asarray(self._run(frame, contract.features, "label")).reshape(-1)
        else:
            labels = np.argmax(self._run(frame, contract.features, "probabilities"), axis=1)
            return np.asarray(contract.classes)[labels]
        classes = np.asarray(contract.classes)
        return labels.astype(classes.dtype) if classes.dtype.kind in "iub" else labels.astype(str).astype(object)
