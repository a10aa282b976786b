"""Request decoding for boolean and date columns (V1/Vertex JSON booleans, V2 BOOL tensors)."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from kfp_mlops.components.core import payloads
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.model_io import Feature, FeatureContract

CONTRACT = FeatureContract(
    features=[Feature("is member", "bool", "numeric"), Feature("signup date", "date", "numeric", "%Y-%m-%d"),
              Feature("body mass/g", "float", "numeric")],
    label="churned", task="classification", framework="sklearn", classes=["no", "yes"])


def test_json_booleans_and_date_strings_are_accepted():
    rows = payloads.rows_from_instances(
        [{"is member": True, "signup date": "2024-01-31", "body mass/g": 3.5},
         {"is member": False, "signup date": None, "body mass/g": "4"},
         ["true", "2024-02-01", 1], [0, "2024-02-02", None], [None, "", 2]], CONTRACT)
    assert rows.columns["is member"][:4] == [1.0, 0.0, 1.0, 0.0] and math.isnan(rows.columns["is member"][4])
    frame = payloads.rows_to_frame([rows], CONTRACT)
    assert frame["is member"].dtype == float and frame["signup date"].iloc[0] == "2024-01-31"


@pytest.mark.parametrize("value", ["maybe", 2, 0.5, [True]])
def test_non_boolean_values_are_refused_with_the_column_and_row(value):
    with pytest.raises(InputError, match=r"'is member' expects true or false, got .* in row 0"):
        payloads.rows_from_instances([[value, "2024-01-31", 1.0]], CONTRACT)


def test_v2_bool_tensor():
    inputs = [SimpleNamespace(name="is member", shape=[2], datatype="BOOL", data=[True, False]),
              SimpleNamespace(name="signup date", shape=[2], datatype="BYTES", data=["2024-01-31", "2024-02-01"]),
              SimpleNamespace(name="body mass/g", shape=[2], datatype="FP64", data=[1.0, 2.0])]
    rows = payloads.rows_from_v2_inputs(inputs, CONTRACT)
    assert rows.columns["is member"] == [1.0, 0.0]
