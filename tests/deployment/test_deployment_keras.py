"""A Keras model directory from the real Keras trainer, served by the local endpoint (scored on a worker thread)."""
from __future__ import annotations

import pytest

from kfp_mlops.components.serving.infra import validate_serving
from kfp_mlops.components.serving.server import start_local_endpoint

pytestmark = pytest.mark.filterwarnings("ignore:ORJSONResponse is deprecated")


@pytest.fixture(scope="module")
def keras_model_dir(tmp_path_factory, penguins_frame):
    """A Keras model directory in the trainer's format: one named (rows, 1) input per feature, model.keras."""
    pytest.importorskip("kfp_mlops.components.core.keras_io")
    import keras

    from kfp_mlops.components.core.model_io import Feature, FeatureContract, save_contract, write_manifest

    keras.utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("keras")
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
    categorical = ["island", "sex"]
    inputs, encoded = {}, []
    for name in categorical:
        inputs[name] = keras.Input(shape=(1,), dtype="string", name=name)
        vocabulary = sorted(penguins_frame[name].dropna().unique())
        encoded.append(keras.layers.StringLookup(vocabulary=vocabulary, output_mode="one_hot")(inputs[name]))
    for name in numeric:
        inputs[name] = keras.Input(shape=(1,), dtype="float32", name=name)
        scaled = keras.layers.Normalization(mean=float(penguins_frame[name].mean()),
                                            variance=float(penguins_frame[name].var()))(inputs[name])
        encoded.append(scaled)
    flat = [keras.layers.Flatten()(e) for e in encoded]
    output = keras.layers.Dense(3, activation="softmax")(keras.layers.Concatenate()(flat))
    model = keras.Model(inputs, output)
    classes = sorted(penguins_frame["species"].unique())
    clean = penguins_frame.dropna()  # untrained weights are fine: served answers must equal in-process ones
    (folder / "model").mkdir()
    model.save(folder / "model" / "model.keras")
    features = [Feature(n, "string", "categorical") for n in categorical] + [
        Feature(n, "int" if n == "year" else "float", "numeric") for n in numeric]
    save_contract(folder / "model", FeatureContract(features, "species", "classification", "keras", classes))
    write_manifest(folder / "model")
    clean.iloc[::7].to_csv(folder / "eval.csv", index=False)
    return folder


def test_keras_model_passes_infra_validation(keras_model_dir):
    report = validate_serving(keras_model_dir / "model", keras_model_dir / "eval.csv", "species", max_examples=12)
    assert report.passed, report.checks


def test_keras_endpoint_uses_the_worker_thread_and_answers_v1(keras_model_dir):
    with start_local_endpoint(keras_model_dir / "model", "penguins-keras") as endpoint:
        assert endpoint._model.batcher._executor is not None
        import json
        import urllib.request

        row = {"island": "Biscoe", "bill_length_mm": 45.2, "bill_depth_mm": 14.8, "flipper_length_mm": 212.0,
               "body_mass_g": 5200, "sex": "female", "year": 2009}
        request = urllib.request.Request(endpoint.v1_predict_url, data=json.dumps({"instances": [row]}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            predictions = json.loads(response.read())["predictions"]
    assert len(predictions) == 1 and predictions[0] in ("Adelie", "Chinstrap", "Gentoo")
