"""ONNX export at training time, checked against the native model on the eval rows.

- scikit-learn: skl2onnx converts the fitted pipeline after the
  :class:`~.sklearn_trainer.FrameCaster` (imputers, scaler, encoders, the
  estimator); HistGradientBoosting's categorical splits go through
  :mod:`.onnx_hgb`. The caster's job (types, dates, booleans) is
  :func:`.onnx_io.feed`, outside the graph.
- Keras: :mod:`.onnx_keras` writes the ``preprocess -> core`` model from its
  layers' weights (tf2onnx 1.17 leaves ``StringLookup``'s hash table as an
  unconvertible ``LookupTableFindV2``).

The check scores the eval rows (at most :data:`MAX_CHECK_ROWS`) with both
paths: class labels must be identical, and probabilities or regression values
within ``|onnx - native| <= ATOL + RTOL * |native|``. ``onnx_check.json``
records the outcome either way; ``model.onnx`` is written only when it passed,
so a model that fails keeps the native path and says why.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kfp_mlops.components.core.onnx_io import CHECK_FILE, ONNX_FILE, OnnxModel

logger = logging.getLogger(__name__)

RTOL, ATOL = 1e-4, 1e-4
MAX_CHECK_ROWS = 10_000
OPSET = 17


@dataclass
class OnnxCheck:
    """The export's equality check, as recorded in ``onnx_check.json`` and the model's metadata."""

    passed: bool
    reason: str
    rows: int = 0
    label_mismatches: int = 0
    max_abs_diff: float = 0.0
    rtol: float = RTOL
    atol: float = ATOL
    converter: str = ""
    seconds: float = 0.0
    inputs: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict:
        """The fields that go into the model artifact's metadata (``onnx_*``)."""
        return {"onnx_passed": self.passed, "onnx_reason": self.reason, "onnx_check_rows": self.rows,
                "onnx_max_abs_diff": self.max_abs_diff, "onnx_label_mismatches": self.label_mismatches,
                "onnx_tolerance": f"labels exact; |onnx - native| <= {self.atol:g} + {self.rtol:g} * |native|"}


def _sklearn_graph(model: Any, features: list) -> tuple[Any, list[str], dict[str, str], str]:
    """Converts a trainer's ``FrameCaster -> ColumnTransformer -> estimator`` pipeline."""
    import copy

    import skl2onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    from kfp_mlops.components.training import onnx_hgb

    if type(model[0]).__name__ != "FrameCaster":
        raise NotImplementedError("not a trainer pipeline (no FrameCaster first)")
    tail = copy.deepcopy(model[1:])
    _match_feed_conventions(tail[0])
    onnx_hgb.register()
    estimator = tail[-1]
    types = [(f.name, StringTensorType([None, 1]) if f.kind == "categorical" else FloatTensorType([None, 1]))
             for f in features]
    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "classes_") else None
    onx = convert_sklearn(tail, initial_types=types, options=options,
                          target_opset={"": OPSET, "ai.onnx.ml": 3})
    onnx_hgb.raise_ml_opset(onx)
    names = [i.name for i in onx.graph.input]  # skl2onnx makes odd column names safe: "body mass/g" -> "body_mass_g"
    if len(names) != len(features):
        raise NotImplementedError(f"the graph takes {len(names)} inputs for {len(features)} features")
    outputs = [o.name for o in onx.graph.output]
    kinds = {"label": outputs[0], "probabilities": outputs[1]} if len(outputs) == 2 else {"value": outputs[0]}
    return onx, names, kinds, f"skl2onnx {skl2onnx.__version__}"


def _match_feed_conventions(columns: Any) -> None:
    """Adapts a COPY of the fitted ColumnTransformer to :func:`.onnx_io.feed`'s missing category ``""``.

    Natively a missing category reaches the encoders as ``None`` (the string
    imputer's ``missing_values=nan`` leaves it), which OneHotEncoder and
    OrdinalEncoder learnt as a category of its own: the copy drops the string
    imputers and names that category ``""``.
    """
    for _, transformer, _ in columns.transformers_:
        steps = getattr(transformer, "steps", None)
        if steps is not None:
            transformer.steps = [(n, s) for n, s in steps
                                 if not (type(s).__name__ == "SimpleImputer" and s.statistics_.dtype == object)]
        for step in [s for _, s in transformer.steps] if steps is not None else [transformer]:
            if type(step).__name__ in ("OneHotEncoder", "OrdinalEncoder"):
                step.categories_ = [np.array(["" if c is None else c for c in cats], dtype=object)
                                    if cats.dtype == object else cats for cats in step.categories_]


def _keras_graph(model: Any, contract: Any) -> tuple[Any, list[str], dict[str, str], str]:
    from kfp_mlops.components.training import onnx_keras

    onx, names = onnx_keras.convert(model, contract.features, contract.task, OPSET)
    kinds = {"probabilities": "probabilities"} if contract.task == "classification" else {"value": "value"}
    return onx, names, kinds, f"kfp_mlops.onnx_keras (onnx {__import__('onnx').__version__})"


def compare(native: Any, exported: Any, frame: pd.DataFrame, task: str) -> tuple[int, float, bool]:
    """(label mismatches, largest |difference|, within tolerance) of two predictors on ``frame``."""
    if task == "classification":
        left, right = np.asarray(native.predict(frame)), np.asarray(exported.predict(frame))
        mismatches = int(np.sum(left.astype(str) != right.astype(str)))
        expected, got = native.predict_proba(frame), exported.predict_proba(frame)
    else:
        mismatches = 0
        expected, got = np.asarray(native.predict(frame), "float64"), np.asarray(exported.predict(frame), "float64")
    if expected.shape != got.shape:
        return mismatches, float("inf"), False
    difference = np.abs(got - expected)
    close = bool(np.all(difference <= ATOL + RTOL * np.abs(expected)))
    return mismatches, float(np.max(difference, initial=0.0)), close


def export_onnx(native: Any, model_dir: str | os.PathLike, eval_frame: pd.DataFrame, seed: int = 42,
                rows_name: str = "eval rows") -> OnnxCheck:
    """Exports ``native`` (a :class:`~.model_io.Predictor`) to ONNX and checks it on the eval rows.

    Writes ``onnx_check.json`` always, and ``model.onnx`` when the check passed.
    Call it before the manifest is written. Never raises for an export that
    fails: the check records why.
    """
    from kfp_mlops.components.core.model_io import Predictor

    contract = native.contract
    path = Path(model_dir)
    start = time.perf_counter()
    rows = eval_frame if len(eval_frame) <= MAX_CHECK_ROWS else eval_frame.sample(MAX_CHECK_ROWS, random_state=seed)
    try:
        if contract.framework == "sklearn":
            onx, names, kinds, converter = _sklearn_graph(native.model, contract.features)
        else:
            onx, names, kinds, converter = _keras_graph(native.model, contract)
        data = onx.SerializeToString()
        exported = Predictor(OnnxModel(data, {"inputs": names, "outputs": kinds}), contract)
        mismatches, largest, close = compare(native, exported, rows, contract.task)
    except Exception as error:  # noqa: BLE001 - any converter failure keeps the native path, with its reason
        reason = f"export failed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
        check = OnnxCheck(False, reason, seconds=round(time.perf_counter() - start, 3))
    else:
        passed = close and mismatches == 0
        reason = (f"matches on {len(rows)} {rows_name}" if passed else
                  f"differs on {len(rows)} {rows_name}: {mismatches} label(s), largest difference {largest:.3g}")
        check = OnnxCheck(passed, reason, len(rows), mismatches, largest, converter=converter,
                          seconds=round(time.perf_counter() - start, 3), inputs=names, outputs=kinds)
        if passed:
            (path / ONNX_FILE).write_bytes(data)
    (path / CHECK_FILE).write_text(json.dumps(asdict(check), indent=2))
    log = logger.info if check.passed else logger.warning
    log("ONNX export of %s: %s", path, check.reason)
    return check
