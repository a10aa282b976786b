"""Request bodies in, feature columns out, and predictions back as JSON.

The endpoint takes raw rows, the same columns the model was trained on (its
``feature_contract.json``), in three shapes:

- **V1 and Vertex:** ``{"instances": [{"col": value, ...}, ...]}``, or
  ``{"instances": [[v1, v2, ...], ...]}`` with values in contract feature order.
- **V2, one tensor per column:** ``inputs`` holds one tensor named after each
  feature column, shape ``[n]`` or ``[n, 1]``; ``BYTES`` for string columns,
  ``FP32``/``FP64``/``INT32``/``INT64`` for numbers.
- **V2, one tensor of rows:** a single input of shape ``[n, features]`` whose
  rows follow the contract's feature order (``BYTES`` when columns are mixed).

V1 and Vertex bodies may add ``"parameters": {"probabilities": true}`` to get
``probabilities`` (rows × classes, in ``classes`` order) next to
``predictions``; V2 requests name the outputs they want, ``predict`` (the
default) and/or ``probabilities``.

Every feature column must be present; numbers may arrive as numeric strings;
boolean columns take ``true``/``false`` (or 1/0, ``"true"``/``"false"``);
date columns take their strings as in the training file (``"2024-01-31"``);
``null`` means a missing value. Anything else raises :class:`InputError` naming
the column, the row and the value, which the server turns into a 400.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.model_io import FeatureContract

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_ROWS = 100_000
NUMERIC_DTYPES = ("float", "int", "bool")
BOOL_STRINGS = {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0}


@dataclass
class Rows:
    """Validated rows of one request, held as one Python list per feature column."""

    columns: dict[str, list[Any]] = field(default_factory=dict)
    count: int = 0


def _coerce(dtype: str, name: str, row: int, value: Any) -> Any:
    """Returns ``value`` as the column's type; None and NaN become NaN.

    Raises:
        InputError: naming the column, the row and the value.
    """
    if value is None:
        return math.nan
    if dtype == "bool":
        return _coerce_bool(name, row, value)
    if dtype in NUMERIC_DTYPES:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value) if value.strip() else math.nan
            except ValueError:
                pass
        if number is None:
            raise InputError(f"feature column {name!r} expects a number, got {value!r} in row {row}")
        if math.isinf(number):
            raise InputError(f"feature column {name!r} expects a finite number, got {value!r} in row {row}")
        return number
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return math.nan
    if isinstance(value, (int, float, bool)):
        return str(value)
    raise InputError(f"feature column {name!r} expects a string, got {value!r} in row {row}")


def _coerce_bool(name: str, row: int, value: Any) -> float:
    """A boolean column's value as 1.0/0.0: JSON true/false, 1/0, or "true"/"false"."""
    if isinstance(value, float) and math.isnan(value):
        return math.nan
    if isinstance(value, (bool, int, float)) and value in (0, 1):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return math.nan
        if text in BOOL_STRINGS:
            return BOOL_STRINGS[text]
    raise InputError(f"feature column {name!r} expects true or false, got {value!r} in row {row}")


def _check_count(count: int, what: str) -> None:
    if count == 0:
        raise InputError(f"{what} is empty: send at least one row")
    if count > MAX_ROWS:
        raise InputError(f"{what} has {count} rows; at most {MAX_ROWS} per request")


def rows_from_instances(instances: Any, contract: FeatureContract) -> Rows:
    """Validates V1/Vertex ``instances``: a list of objects, or of lists in feature order.

    Raises:
        InputError: If ``instances`` is not a list, a row lacks a feature column
            (named), has the wrong length, or holds a value of the wrong type.
    """
    if not isinstance(instances, list):
        raise InputError("field 'instances' must be a list of rows (objects or lists)")
    _check_count(len(instances), "field 'instances'")
    features = contract.features
    columns: dict[str, list[Any]] = {f.name: [] for f in features}
    for row, instance in enumerate(instances):
        if isinstance(instance, dict):
            missing = [f.name for f in features if f.name not in instance]
            if missing:
                raise InputError(f"instance {row} is missing feature column(s): {', '.join(missing)}")
            values = [instance[f.name] for f in features]
        elif isinstance(instance, list):
            if len(instance) != len(features):
                raise InputError(
                    f"instance {row} has {len(instance)} values; expected {len(features)} "
                    f"in this order: {', '.join(contract.feature_names)}")
            values = instance
        else:
            raise InputError(f"instance {row} must be an object or a list, got {type(instance).__name__}")
        for feature, value in zip(features, values, strict=True):
            columns[feature.name].append(_coerce(feature.dtype, feature.name, row, value))
    return Rows(columns, len(instances))


def rows_from_body(body: Any, contract: FeatureContract) -> Rows:
    """Validates a V1 or Vertex JSON body ``{"instances": [...]}``.

    Raises:
        InputError: If the body is not a JSON object with ``instances``.
    """
    if isinstance(body, (bytes, str)):
        raise InputError("request body must be JSON (Content-Type: application/json) with field 'instances'")
    if not isinstance(body, dict) or "instances" not in body:
        raise InputError("request body must be a JSON object with field 'instances'")
    return rows_from_instances(body["instances"], contract)


def _flatten(data: Any) -> list[Any]:
    import numpy as np
    if isinstance(data, np.ndarray):
        return data.reshape(-1).tolist()
    if not isinstance(data, (list, tuple)):
        raise InputError(f"tensor data must be a list, got {type(data).__name__}")
    flat: list[Any] = []
    stack: list[Iterable[Any]] = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, (list, tuple)):
                stack.append(iter(item))
                break
            flat.append(item.decode() if isinstance(item, bytes) else item)
        else:
            stack.pop()
    return flat


def _tensor_values(tensor: Any) -> tuple[list[int], list[Any]]:
    shape = [int(d) for d in (tensor.shape or [])]
    values = _flatten(tensor.data)
    if math.prod(shape) != len(values):
        raise InputError(f"input tensor {tensor.name!r} has shape {shape} but {len(values)} values")
    return shape, values


def rows_from_v2_inputs(inputs: Sequence[Any], contract: FeatureContract) -> Rows:
    """Validates V2 ``inputs``: one tensor per feature column, or one tensor of rows.

    Args:
        inputs: Tensors with ``name``, ``shape``, ``datatype`` and ``data``
            (kserve ``InferInput`` objects).
        contract: The model's feature contract.

    Raises:
        InputError: naming the missing feature columns, or the tensor whose
            shape or values do not fit.
    """
    if not inputs:
        raise InputError("field 'inputs' is empty: send one tensor per feature column or one tensor of rows")
    by_name = {tensor.name: tensor for tensor in inputs}
    names = contract.feature_names
    first_shape = list(inputs[0].shape or [])
    if len(inputs) == 1 and (inputs[0].name not in names or (
            len(names) > 1 and len(first_shape) == 2 and first_shape[1] == len(names))):
        shape, values = _tensor_values(inputs[0])
        if len(shape) != 2 or shape[1] != len(names):
            raise InputError(
                f"input tensor {inputs[0].name!r} has shape {shape}; a tensor of rows needs shape "
                f"[rows, {len(names)}] in this order: {', '.join(names)}")
        width = len(names)
        return rows_from_instances([values[i:i + width] for i in range(0, len(values), width)], contract)
    missing = [name for name in names if name not in by_name]
    if missing:
        raise InputError(f"inputs are missing feature column(s): {', '.join(missing)}")
    columns: dict[str, list[Any]] = {}
    count = -1
    for feature in contract.features:
        tensor = by_name[feature.name]
        shape, values = _tensor_values(tensor)
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise InputError(f"input tensor {feature.name!r} has shape {shape}; expected [rows] or [rows, 1]")
        if count >= 0 and len(values) != count:
            raise InputError(f"input tensor {feature.name!r} has {len(values)} rows; other columns have {count}")
        count = len(values)
        columns[feature.name] = [_coerce(feature.dtype, feature.name, row, v) for row, v in enumerate(values)]
    _check_count(count, "inputs")
    return Rows(columns, count)


def rows_to_frame(batch: Sequence[Rows], contract: FeatureContract) -> pd.DataFrame:
    """Joins the rows of one or more requests into one DataFrame in feature order."""
    import numpy as np
    import pandas as pd
    data = {}
    for feature in contract.features:
        values = batch[0].columns[feature.name] if len(batch) == 1 else [
            v for rows in batch for v in rows.columns[feature.name]]
        dtype = np.float64 if feature.dtype in NUMERIC_DTYPES else object
        data[feature.name] = np.asarray(values, dtype=dtype)
    # Columns come in contract order from the dict; passing columns= as well costs 6x more.
    return pd.DataFrame(data, copy=False)


def frame_records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Returns rows of ``frame`` as JSON-ready objects, NaN as None (for clients)."""
    import pandas as pd
    subset = frame[list(columns)].astype(object)
    return subset.where(pd.notna(subset), None).to_dict(orient="records")


def wants_probabilities(body: dict) -> bool:
    """Whether a V1/Vertex body asks for class probabilities: ``"parameters": {"probabilities": true}``.

    Raises:
        InputError: If ``parameters`` is not an object or the flag is not a boolean.
    """
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InputError("field 'parameters' must be an object")
    flag = parameters.get("probabilities", False)
    if not isinstance(flag, bool):
        raise InputError(f"field 'parameters.probabilities' must be true or false, got {flag!r}")
    return flag


def requested_outputs(requested: Any, known: Sequence[str]) -> list[str]:
    """Names of the V2 outputs asked for (``outputs: [{"name": ...}]``); the first known one when none.

    Raises:
        InputError: naming an unknown output.
    """
    names = [getattr(output, "name", output) for output in (requested or [])]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InputError(f"unknown output(s) {', '.join(map(repr, unknown))}; this model has: {', '.join(known)}")
    return list(dict.fromkeys(names)) or [known[0]]


def json_values(values: np.ndarray) -> list[Any]:
    """Returns predictions as plain JSON values (numpy scalars unwrapped)."""
    import numpy as np
    return np.asarray(values).tolist()


def v2_datatype(values: np.ndarray) -> str:
    """Returns the V2 datatype of a prediction array."""
    import numpy as np
    kind = np.asarray(values).dtype.kind
    return {"b": "BOOL", "i": "INT64", "u": "INT64", "f": "FP64"}.get(kind, "BYTES")
