"""Model features from a TFX schema, and raw-row casting shared by the trainers.

The schema (``schema.pbtxt``, tensorflow-metadata ``Schema``) decides which
columns are numeric and which are categorical, so preprocessing never guesses
from the data:

- ``BYTES`` features are categorical strings;
- ``INT`` features whose ``int_domain.is_categorical`` is set are categorical
  integers; other ``INT`` and ``FLOAT`` features are numeric;
- ``INT`` features with a ``bool_domain`` are booleans, fed to the model as
  0/1 (``True``/``False``, ``true``/``false`` and ``1``/``0`` all read);
- ``BYTES`` features with a ``time_domain`` are dates or datetimes, fed to the
  model as days since 1970-01-01 (a number).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from tensorflow_metadata.proto.v0 import schema_pb2

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.model_io import Feature

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CLASSIFICATION, REGRESSION = "classification", "regression"
TASKS = ("auto", CLASSIFICATION, REGRESSION)
# An INT label with at most this many distinct values is a class label under task="auto".
MAX_INT_CLASSES = 20


def features_from_schema(schema: schema_pb2.Schema, label: str) -> list[Feature]:
    """Returns the model's input features declared by a schema, in schema order.

    Args:
        schema: A TFX schema.
        label: The label column; it is left out of the features.

    Returns:
        One :class:`Feature` per schema feature but the label.

    Raises:
        InputError: If the label is not in the schema, a feature has an
            unsupported type, or no feature is left.
    """
    names = [f.name for f in schema.feature]
    if label not in names:
        raise InputError(f"label column {label!r} is not in the schema; features are: {', '.join(names)}")
    features = []
    for feature in schema.feature:
        if feature.name == label:
            continue
        if feature.type == schema_pb2.BYTES and feature.time_domain.string_format:
            features.append(Feature(feature.name, "date", "numeric", feature.time_domain.string_format))
        elif feature.type == schema_pb2.BYTES:
            features.append(Feature(feature.name, "string", "categorical"))
        elif feature.type == schema_pb2.INT and feature.HasField("bool_domain"):
            features.append(Feature(feature.name, "bool", "numeric"))
        elif feature.type == schema_pb2.INT:
            categorical = feature.HasField("int_domain") and feature.int_domain.is_categorical
            features.append(Feature(feature.name, "int", "categorical" if categorical else "numeric"))
        elif feature.type == schema_pb2.FLOAT:
            features.append(Feature(feature.name, "float", "numeric"))
        else:
            raise InputError(f"schema feature {feature.name!r} has unsupported type {feature.type} "
                             "(expected INT, FLOAT or BYTES)")
    if not features:
        raise InputError(f"the schema declares no feature besides the label {label!r}")
    return features


def check_columns(frame: pd.DataFrame, features: list[Feature], label: str, source: str) -> None:
    """Checks that ``frame`` holds every feature and the label.

    Raises:
        InputError: Naming the missing columns and the file.
    """
    missing = [name for name in [f.name for f in features] + [label] if name not in frame.columns]
    if missing:
        raise InputError(f"{source} is missing column(s) declared by the schema: {', '.join(missing)}")


def as_category(values: pd.Series, dtype: str) -> np.ndarray:
    """Casts a column to category strings, keeping missing values as ``None``.

    Integer categories are written without a decimal part whatever the column
    arrived as (``3``, ``3.0`` and ``"3"`` all become ``"3"``). Each distinct
    value is converted once (``pandas.factorize``), not each row.
    """
    import numpy as np
    import pandas as pd
    if dtype == "int":
        values = pd.to_numeric(values, errors="coerce")
    if dtype != "int" and pd.api.types.infer_dtype(values, skipna=True) in ("mixed", "mixed-integer"):
        # factorize hashes True like 1: values of mixed types are converted one by one
        return np.array([None if pd.isna(v) else str(v) for v in values], dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = [str(int(v)) if dtype == "int" else str(v) for v in uniques]
    return np.array([*text, None], dtype=object)[codes]  # code -1 (missing) picks the trailing None


def as_number(values: pd.Series, name: str) -> np.ndarray:
    """Casts a column to float64 (missing values become NaN).

    Raises:
        InputError: If a value is not a number, naming the column and the value.
    """
    import pandas as pd
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        raise InputError(f"column {name!r} is numeric in the schema but holds {values[bad].iloc[0]!r}")
    return numbers.to_numpy(dtype="float64")


_TRUE, _FALSE = {"true", "1", "1.0", "yes"}, {"false", "0", "0.0", "no"}


def as_bool(values: pd.Series, name: str) -> np.ndarray:
    """Casts a boolean column to 1.0/0.0 (missing values become NaN).

    Raises:
        InputError: If a value is not a boolean, naming the column and the value.
    """
    import numpy as np
    import pandas as pd
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~np.isnan(numbers) & (numbers != 0) & (numbers != 1)
        if bad.any():
            raise InputError(f"column {name!r} is boolean in the schema but holds {values[bad].iloc[0]!r}")
        return numbers
    out = np.full(len(values), np.nan)
    for position, value in enumerate(values):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        text = str(value).strip().lower()
        if text in _TRUE:
            out[position] = 1.0
        elif text in _FALSE:
            out[position] = 0.0
        elif text:
            raise InputError(f"column {name!r} is boolean in the schema but holds {value!r}")
    return out


def as_days(values: pd.Series, name: str, time_format: str) -> np.ndarray:
    """Casts a date or datetime column to days since 1970-01-01 (missing values become NaN).

    Raises:
        InputError: If a value does not match the schema's format, naming the column and the value.
    """
    from kfp_mlops.components.core.timestamps import to_days

    days, bad = to_days(values, time_format)
    if bad.any():
        raise InputError(
            f"column {name!r} holds dates in format {time_format!r} in the schema "
            f"but holds {values[bad.to_numpy()].iloc[0]!r}")
    return days


def cast_column(column: pd.Series, feature: Feature) -> np.ndarray:
    """Casts one raw column to the model's type for ``feature``."""
    if feature.kind == "categorical":
        return as_category(column, feature.dtype)
    if feature.dtype == "bool":
        return as_bool(column, feature.name)
    if feature.dtype == "date":
        return as_days(column, feature.name, feature.time_format)
    return as_number(column, feature.name)


def cast_frame(frame: pd.DataFrame, features: list[Feature]) -> pd.DataFrame:
    """Returns the feature columns of ``frame`` cast to the model's types."""
    import pandas as pd
    data = {feature.name: cast_column(frame[feature.name], feature) for feature in features}
    return pd.DataFrame(data, index=frame.index)


def resolve_task(task: str, labels: pd.Series, schema_type: int | None = None) -> str:
    """Decides classification or regression.

    Args:
        task: ``auto``, ``classification`` or ``regression``.
        labels: The label column.
        schema_type: The label's schema type (``schema_pb2.INT``...), if known.

    Returns:
        ``classification`` or ``regression``.

    Raises:
        InputError: For an unknown task, or regression on a non-numeric label.
    """
    import numpy as np
    import pandas as pd
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; expected one of: {', '.join(TASKS)}")
    numeric = pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels)
    if task == REGRESSION:
        if not numeric:
            raise InputError(f"task 'regression' needs a numeric label; "
                             f"label {labels.name!r} holds {labels.dropna().iloc[0]!r}")
        return REGRESSION
    if task == CLASSIFICATION:
        return CLASSIFICATION
    if not numeric or schema_type == schema_pb2.BYTES:
        return CLASSIFICATION
    present = labels.dropna()
    integral = bool(np.all(np.mod(present.to_numpy(dtype="float64"), 1) == 0))
    if (schema_type == schema_pb2.INT or integral) and present.nunique() <= MAX_INT_CLASSES:
        return CLASSIFICATION
    return REGRESSION


def label_values(labels: pd.Series, task: str) -> np.ndarray:
    """Returns the label column as model targets.

    Class labels stay as they are unless they are integral floats (``1.0``),
    which become ints, so the classes read as the user wrote them.

    Raises:
        InputError: If the label has missing values.
    """
    import numpy as np
    if labels.isna().any():
        raise InputError(f"label column {labels.name!r} has {int(labels.isna().sum())} missing value(s); "
                         "drop or fill them")
    if task == REGRESSION:
        return labels.to_numpy(dtype="float64")
    values = labels.to_numpy()
    if values.dtype.kind == "f" and np.all(np.mod(values, 1) == 0):
        return values.astype("int64")
    return values
