"""The Keras trainer as a component in a pipeline under kfp.local (SubprocessRunner, use_venv=False), on CPU."""
from pathlib import Path

import numpy as np
import pytest
from kfp import dsl

from kfp_mlops.components.core.model_io import load_model
from kfp_mlops.components.training.tensorboard_log import read_scalars


@dsl.pipeline(name="train-keras-locally")
def train_keras_locally(train_uri: str, eval_uri: str, schema_uri: str, label: str):
    from kfp_mlops.components.training.component import train_keras

    train = dsl.importer(artifact_uri=train_uri, artifact_class=dsl.Dataset)
    evaluation = dsl.importer(artifact_uri=eval_uri, artifact_class=dsl.Dataset)
    schema = dsl.importer(artifact_uri=schema_uri, artifact_class=dsl.Artifact)
    train_keras(train=train.output, eval=evaluation.output, schema=schema.output, label=label,
                epochs=4, learning_rate=0.01, hidden_units="16")


@pytest.mark.slow  # Keras trains in the trainer tests; this is the same run as a kfp.local component
def test_keras_component_runs_end_to_end_locally_on_cpu(penguins, tmp_path):
    from kfp_mlops.pipelines.local_runner import run_pipeline

    train, evaluation, schema, frame = penguins
    run = run_pipeline(train_keras_locally, {"train_uri": str(train), "eval_uri": str(evaluation), "schema_uri": str(schema),
                                    "label": "species"},
                       root=tmp_path / "root", enable_caching=False, progress=False, log_path=tmp_path / "log.txt")
    assert run.succeeded, run.error
    keras_model = run.output("train-keras", "model")
    assert keras_model.metadata["framework"] == "keras"
    assert keras_model.metadata["devices"] == ["/cpu:0"] and keras_model.metadata["epochs_run"] >= 1
    assert (Path(keras_model.path) / "saved_model" / "saved_model.pb").is_file()
    assert "epoch_loss" in read_scalars(Path(run.output("train-keras", "tensorboard").path) / "validation")
    predictions = load_model(keras_model.path).predict(frame.drop(columns="species"))
    assert np.mean(predictions == frame["species"].to_numpy()) > 0.7
