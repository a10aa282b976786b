"""``POST /v1/models/NAME:explain`` answers per-row attributions for both trainers, on the real endpoint."""
from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kfp_mlops.components.serving.server import start_local_endpoint

sys.path.insert(0, str(Path(__file__).parents[1] / "training"))
from training_helpers import write_schema  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:ORJSONResponse is deprecated")


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _split(tmp_path: Path, frame: pd.DataFrame, types: dict[str, str]) -> tuple[Path, Path, Path]:
    frame.iloc[: int(len(frame) * 0.8)].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[int(len(frame) * 0.8):].to_csv(tmp_path / "eval.csv", index=False)
    return tmp_path / "train.csv", tmp_path / "eval.csv", write_schema(tmp_path / "schema.pbtxt", types)


def test_sklearn_explain_is_exact_for_a_linear_regression(tmp_path):
    """Diabetes, Ridge: each attribution is coef * (x - baseline), so they add up to f(x) - f(baseline)."""
    from sklearn.datasets import load_diabetes

    from kfp_mlops.components.training.sklearn_trainer import train_sklearn_model

    frame = load_diabetes(as_frame=True).frame.rename(columns={"s1": "s 1 (tc)"})  # an odd column name
    train, _, schema = _split(tmp_path, frame, {c: "FLOAT" for c in frame.columns})
    train_sklearn_model(train, schema, tmp_path / "model", "target", estimator="linear")
    rows = frame.drop(columns="target").iloc[:3].to_dict("records")
    with start_local_endpoint(tmp_path / "model", "diabetes") as endpoint:
        url = f"{endpoint.url}/v1/models/diabetes:explain"
        status, answer = _post(url, {"instances": rows})
        predicted = _post(endpoint.v1_predict_url, {"instances": rows})[1]["predictions"]
        bad_status, bad = _post(url, {"instances": [{"age": 0.01}]})
    assert status == 200, answer
    assert len(answer["explanations"]) == 3 and set(answer["explanations"][0]) == set(rows[0])
    np.testing.assert_allclose(answer["predictions"], predicted, rtol=1e-9)
    for output, attributions in zip(answer["outputs"], answer["explanations"], strict=True):
        assert sum(attributions.values()) == pytest.approx(output - answer["baseline_output"], abs=1e-6)
    assert "baseline substitution" in answer["method"]
    assert bad_status == 400 and "missing" in bad["error"]


@pytest.mark.slow  # about 18 s: TensorFlow's import and two epochs
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_keras_explain_answers_per_row_attributions(tmp_path):
    """Breast cancer (binary, 30 features), the real Keras trainer with 2 epochs: a row's own baseline explains nothing."""
    pytest.importorskip("tensorflow")
    from sklearn.datasets import load_breast_cancer

    from kfp_mlops.components.training.keras_trainer import train_keras_model

    frame = load_breast_cancer(as_frame=True).frame.sample(n=300, random_state=0)
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    types = {c: "FLOAT" for c in frame.columns} | {"target": "BYTES"}
    train, evaluation, schema = _split(tmp_path, frame, types)
    result = train_keras_model(train, evaluation, schema, tmp_path / "model", tmp_path / "tb", "target", epochs=2,
                               hidden_units="8", export_saved_model=False)
    baseline = result.contract.baseline
    assert set(result.contract.attribution_profile) == set(baseline)  # the training profile, kept for monitoring
    rows = frame.drop(columns="target").iloc[:2].to_dict("records") + [baseline]
    with start_local_endpoint(tmp_path / "model", "cancer") as endpoint:
        status, answer = _post(f"{endpoint.url}/v1/models/cancer:explain", {"instances": rows})
    assert status == 200, answer
    assert answer["explained_output"] == "probability of the predicted class"
    assert set(answer["predictions"]) <= {"malignant", "benign"} and len(answer["explanations"]) == 3
    assert all(abs(value) < 1e-6 for value in answer["explanations"][2].values())  # the baseline row itself
    assert any(abs(value) > 0 for value in answer["explanations"][0].values())
