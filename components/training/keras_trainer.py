"""The Keras trainer: a model that serves raw rows, trained from tf.data, on GPU or CPU.

The exported model is ``preprocess -> core``:

- ``preprocess`` takes one named input per schema feature and holds the
  preprocessing layers: ``Normalization`` (adapted on the training rows, NaN
  filled with the mean) for numbers, ``StringLookup`` (the schema's domain when
  it declares one, else the training values, capped at the 1000 most
  frequent) one-hot for categories; unseen and rare values share the
  out-of-vocabulary slot;
- ``core`` is a small dense network.

Training feeds ``core`` from a tf.data pipeline that runs ``preprocess`` once,
caches the encoded rows, shuffles, batches and prefetches; the saved model is
the whole ``preprocess -> core`` graph, so serving needs no transform step.
"""
from __future__ import annotations

import logging
import os
import re
import time
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kfp_mlops.components.core import features as F
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.explain import model_profile
from kfp_mlops.components.core.keras_io import custom_layers, to_inputs
from kfp_mlops.components.core.model_io import (
    KERAS_FILE,
    Feature,
    FeatureContract,
    Predictor,
    TrainedModel,
    save_contract,
    write_manifest,
)
from kfp_mlops.components.core.schema_io import read_schema
from kfp_mlops.components.training.tensorboard_log import scalar_logger

logger = logging.getLogger(__name__)

SAVED_MODEL_DIR = "saved_model"
MAX_VOCABULARY = 1000  # one-hot width cap: rarer categories share the out-of-vocabulary slot
PATIENCE = 3


def parse_hidden_units(hidden_units: str) -> list[int]:
    """Parses ``"64,32"`` into ``[64, 32]``.

    Raises:
        InputError: Naming the bad value.
    """
    try:
        units = [int(part) for part in str(hidden_units).split(",") if part.strip()]
    except ValueError:
        raise InputError(f"hidden_units must be comma-separated integers like '64,32', got {hidden_units!r}") from None
    if any(unit <= 0 for unit in units):
        raise InputError(f"hidden_units must be positive, got {hidden_units!r}")
    return units


def _vocabulary(schema, name: str, values: np.ndarray) -> list[str]:
    from kfp_mlops.components.core.schema_io import string_domain

    feature = next(f for f in schema.feature if f.name == name)
    domain = string_domain(schema, feature)
    counts = pd.Series(values.ravel()).value_counts()
    vocabulary = list(domain) if domain else sorted(v for v in counts.index if v != "")
    if len(vocabulary) > MAX_VOCABULARY:
        frequent = set(counts.index[:MAX_VOCABULARY])
        logger.info(f"{name!r}: keeping the {MAX_VOCABULARY} most frequent of {len(vocabulary)} categories")
        vocabulary = [v for v in vocabulary if v in frequent][:MAX_VOCABULARY]
    return vocabulary + [""] if "" in counts.index and "" not in vocabulary else vocabulary


_SAFE_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.-]*")


def layer_names(names: list[str]) -> dict[str, str]:
    """Maps column names to Keras-safe layer names, unique, and unchanged when already safe.

    Keras and TensorFlow refuse spaces, ``/`` and non-ASCII letters in layer
    and scope names (``body mass/g``, ``île``); such a name is folded to ASCII,
    other characters become ``_``, and a suffix keeps it unique. The model's
    inputs are still keyed by the user's column names.
    """
    taken = {name for name in names if _SAFE_NAME.fullmatch(name)}
    mapping = {}
    for index, name in enumerate(names):
        if _SAFE_NAME.fullmatch(name):
            mapping[name] = name
            continue
        folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", folded).strip("_") or "feature"
        base = base if base[0].isalnum() else f"f{base}"
        candidate = f"{base}_{index}"
        while candidate in taken:
            candidate += "_"
        taken.add(candidate)
        mapping[name] = candidate
    return mapping


def _model(inputs: dict, outputs: Any, name: str):
    """``keras.Model`` on inputs keyed by column names whose tensors may carry safe names."""
    import warnings

    import keras

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="When providing `inputs` as a dict")
        return keras.Model(inputs, outputs, name=name)


def build_preprocess(schema, features: list[Feature], inputs: dict[str, np.ndarray]):
    """Builds the raw-rows-to-vector preprocessing model, adapted on the training inputs."""
    import keras

    fill_missing = custom_layers()["FillMissing"]
    safe = layer_names([f.name for f in features])
    layers_in, encoded = {}, []
    for feature in features:
        values, layer = inputs[feature.name], safe[feature.name]
        if feature.kind == "categorical":
            tensor = keras.Input(shape=(1,), dtype="string", name=layer)
            vocabulary = _vocabulary(schema, feature.name, values)
            lookup = keras.layers.StringLookup(vocabulary=vocabulary, output_mode="one_hot",
                                               name=f"lookup_{layer}", dtype="float32")
            encoded.append(lookup(tensor))
        else:
            tensor = keras.Input(shape=(1,), dtype="float32", name=layer)
            present = values[~np.isnan(values)].reshape(-1, 1)
            normalize = keras.layers.Normalization(name=f"normalize_{layer}", dtype="float32")
            normalize.adapt(present if len(present) else np.zeros((1, 1), "float32"))
            encoded.append(fill_missing(0.0, name=f"fill_{layer}", dtype="float32")(normalize(tensor)))
        layers_in[feature.name] = tensor
    merged = keras.layers.Concatenate(name="features", dtype="float32")(encoded) if len(encoded) > 1 else encoded[0]
    return _model(layers_in, merged, "preprocess")


def build_core(width: int, hidden: list[int], outputs: int, task: str, target_mean: float, target_std: float):
    """Builds the dense network on the encoded features (output in float32 under mixed precision)."""
    import keras

    core = keras.Sequential(name="core")
    core.add(keras.Input(shape=(width,)))
    for units in hidden:
        core.add(keras.layers.Dense(units, activation="relu"))
    if task == F.CLASSIFICATION:
        core.add(keras.layers.Dense(outputs, activation="softmax", dtype="float32"))
    else:
        core.add(keras.layers.Dense(1, dtype="float32"))
        core.add(keras.layers.Rescaling(scale=target_std, offset=target_mean, dtype="float32"))
    return core


def make_dataset(preprocess, inputs: dict, targets: np.ndarray, batch_size: int, shuffle: bool, seed: int):
    """tf.data: raw inputs -> preprocess once -> cache -> (shuffle) -> batch -> prefetch."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(4096)
    data = data.map(lambda x, y: (preprocess(x, training=False), y), num_parallel_calls=tf.data.AUTOTUNE)
    data = data.unbatch().apply(tf.data.experimental.assert_cardinality(len(targets))).cache()
    if shuffle:
        data = data.shuffle(min(len(targets), 100_000), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _read(path, features: list[Feature], label: str) -> pd.DataFrame:
    from kfp_mlops.components.core.sources import read_table

    frame = read_table(path)
    F.check_columns(frame, features, label, str(path))
    return frame


def train_keras_model(
    train_path: str | os.PathLike,
    eval_path: str | os.PathLike,
    schema_path: str | os.PathLike,
    model_dir: str | os.PathLike,
    tensorboard_dir: str | os.PathLike,
    label: str,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    hidden_units: str = "64,32",
    seed: int = 42,
    task: str = "auto",
    export_saved_model: bool = True,
    tf: Any = None,
    export_onnx: bool = True,
    callbacks: list | None = None,
) -> TrainedModel:
    """Trains a Keras model on CSV splits and saves a model directory.

    Args:
        train_path: Training rows, CSV with a header.
        eval_path: Evaluation rows (validation loss for early stopping).
        schema_path: ``schema.pbtxt``: feature types and string domains.
        model_dir: Output: ``model.keras``, ``feature_contract.json`` and,
            with ``export_saved_model``, a TF SavedModel in ``saved_model/``.
        tensorboard_dir: TensorBoard event files go here.
        label: The label column.
        epochs: Most epochs; early stopping on validation loss may stop sooner.
        batch_size: Rows per step (per replica under several GPUs).
        learning_rate: Adam learning rate.
        hidden_units: Dense layer widths, e.g. ``"64,32"``.
        seed: Random seed (weights, shuffling).
        task: ``auto``, ``classification`` or ``regression``.
        export_saved_model: Also write a SavedModel for TF Serving / Vertex.
        tf: The ``tensorflow`` module (injectable for device tests).
        export_onnx: Also write ``model.onnx`` when it predicts the same as
            the Keras model on the eval rows (``onnx_check.json`` records the check).
        callbacks: More Keras callbacks (a tuning trial's pruning report).

    Returns:
        The contract and metadata: framework, task, label, classes, devices,
        strategy, mixed_precision, epochs_run, best validation loss and
        training throughput (rows/s).

    Raises:
        InputError: For bad files, schema, label or parameters.
    """
    import keras

    from kfp_mlops.components.training.devices import configure_devices, reset_precision

    if epochs < 1 or batch_size < 1 or learning_rate <= 0:
        raise InputError(f"epochs and batch_size must be >= 1 and learning_rate > 0; "
                         f"got {epochs}, {batch_size}, {learning_rate}")
    hidden = parse_hidden_units(hidden_units)
    schema = read_schema(schema_path)
    features = F.features_from_schema(schema, label)
    train_frame = _read(train_path, features, label)
    eval_frame = _read(eval_path, features, label)
    label_type = next(f.type for f in schema.feature if f.name == label)
    task = F.resolve_task(task, train_frame[label], label_type)
    y_train, y_eval = F.label_values(train_frame[label], task), F.label_values(eval_frame[label], task)
    classes: list = []
    if task == F.CLASSIFICATION:
        classes = np.unique(y_train).tolist()
        if len(classes) < 2:
            raise InputError(f"label column {label!r} in {train_path} has a single class; "
                             "classification needs two or more")
        index = {value: position for position, value in enumerate(classes)}
        unknown = sorted({str(v) for v in y_eval if v not in index})
        if unknown:
            raise InputError(f"{eval_path}: label {label!r} has class(es) not in the training rows: "
                             f"{', '.join(unknown)}")
        y_train = np.array([index[v] for v in y_train], dtype="int32")
        y_eval = np.array([index[v] for v in y_eval], dtype="int32")
    else:
        y_train, y_eval = y_train.astype("float32"), y_eval.astype("float32")

    keras.utils.set_random_seed(seed)
    strategy, plan = configure_devices(tf=tf, keras=keras)
    try:
        history, seconds, model = _fit(schema, features, train_frame, eval_frame, y_train, y_eval, classes, task,
                                       hidden, epochs, batch_size, learning_rate, seed, strategy, tensorboard_dir,
                                       model_dir, export_saved_model, keras, callbacks or [])
    except InputError:
        raise
    except Exception as error:  # Keras wraps the cause in a multi-line message: keep its one real line
        raise RuntimeError(f"Keras training failed: {error_cause(error)}") from error
    finally:
        reset_precision(keras)
    epochs_run = len(history.history["loss"])
    contract = FeatureContract(features=features, label=label, task=task, framework="keras", classes=classes)
    contract.baseline, contract.attribution_profile = model_profile(Predictor(model, contract), train_frame, seed)
    save_contract(model_dir, contract)
    check = None
    if export_onnx:
        from kfp_mlops.components.training.onnx_export import export_onnx as export

        check = export(Predictor(model, contract), model_dir, eval_frame, seed)
    write_manifest(model_dir)  # last: every model file's sha256, signed when a key is set
    best = float(np.min(history.history["val_loss"]))
    metadata = {
        "framework": "keras", "estimator": "dnn", "task": task, "label": label, "classes": classes,
        "rows": int(len(y_train)), "features": [f.name for f in features], "hidden_units": hidden,
        "epochs_run": epochs_run, "best_val_loss": best, "train_seconds": round(seconds, 3),
        "rows_per_second": round(epochs_run * len(y_train) / seconds, 1), "seed": int(seed),
        "devices": plan.devices, "strategy": plan.strategy, "mixed_precision": plan.mixed_precision,
        "saved_model": SAVED_MODEL_DIR if export_saved_model else "",
        "parameters": int(model.count_params()),
        **(check.summary() if check else {}),
        "hyperparameters": {"epochs": int(epochs), "batch_size": int(batch_size), "learning_rate": float(learning_rate),
                            "hidden_units": ",".join(map(str, hidden))},
    }
    logger.info(f"{epochs_run} epochs in {seconds:.2f}s, best val_loss {best:.4f}, devices {plan.devices}")
    return TrainedModel(contract=contract, metadata=metadata)


def _fit(schema, features, train_frame, eval_frame, y_train, y_eval, classes, task, hidden, epochs, batch_size,
         learning_rate, seed, strategy, tensorboard_dir, model_dir, export_saved_model, keras, extra_callbacks=()):
    """Builds, trains and saves the model; returns (history, seconds, model)."""
    x_train, x_eval = to_inputs(train_frame, features), to_inputs(eval_frame, features)
    preprocess = build_preprocess(schema, features, x_train)  # not trained: outside the replicas
    width = int(preprocess.output.shape[-1])
    with strategy.scope():
        mean = float(np.mean(y_train)) if task == F.REGRESSION else 0.0
        std = (float(np.std(y_train)) or 1.0) if task == F.REGRESSION else 1.0
        core = build_core(width, hidden, len(classes), task, mean, std)
        loss = "sparse_categorical_crossentropy" if task == F.CLASSIFICATION else "mse"
        metrics = ["accuracy"] if task == F.CLASSIFICATION else ["mae"]
        core.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics,
                     steps_per_execution=_steps_per_execution(len(y_train), batch_size, strategy))
    global_batch = batch_size * strategy.num_replicas_in_sync
    train_data = make_dataset(preprocess, x_train, y_train, global_batch, True, seed)
    eval_data = make_dataset(preprocess, x_eval, y_eval, global_batch, False, seed)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True),
        scalar_logger(tensorboard_dir),
        _ProgressLog(),
        *extra_callbacks,
    ]
    logger.info(f"{task} on {len(y_train)} rows, {len(features)} features, up to {epochs} epochs")
    start = time.perf_counter()
    history = core.fit(train_data, validation_data=eval_data, epochs=epochs, callbacks=callbacks,
                       shuffle=False, verbose=0)  # shuffled in tf.data
    seconds = time.perf_counter() - start
    model = _export(preprocess, core, features, model_dir, export_saved_model)
    return history, seconds, model


def error_cause(error: BaseException) -> str:
    """One line that says why Keras failed, from its multi-line message.

    Keras reports a layer failure as ``Exception encountered when calling
    Functional.call().`` followed by the cause and the call's arguments; this
    returns the cause.
    """
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    kept = []
    for line in lines:
        if line.startswith("Arguments received by"):
            break
        if not line.startswith("Exception encountered when calling"):
            kept.append(line)
    cause = kept[0] if kept else (lines[0] if lines else "")
    return f"{type(error).__name__}: {cause}" if cause else type(error).__name__


def _steps_per_execution(rows: int, batch_size: int, strategy: Any = None) -> int:
    """Several steps per call cut Python overhead; never more than one epoch's steps.

    One step per call with several replicas: Keras 3.15's multi-step loop fails
    on a distributed iterator ("You must feed a value for placeholder tensor").
    """
    if strategy is not None and strategy.num_replicas_in_sync > 1:
        return 1
    return max(1, min(32, -(-rows // batch_size)))


class _ProgressLog:
    """Prints one line per epoch (the component log), as a Keras callback."""

    def __new__(cls):
        import keras

        class ProgressLog(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                values = " ".join(f"{key}={value:.4f}" for key, value in sorted((logs or {}).items()))
                logger.info(f"epoch {epoch + 1}: {values}")

        return ProgressLog()


def _export(preprocess, core, features: list[Feature], model_dir, export_saved_model: bool):
    """Saves ``preprocess -> core`` as ``model.keras`` (and a SavedModel); returns the full model."""
    import keras

    safe = layer_names([f.name for f in features])
    inputs = {
        f.name: keras.Input(shape=(1,), dtype="string" if f.kind == "categorical" else "float32", name=safe[f.name])
        for f in features
    }
    model = _model(inputs, core(preprocess(inputs)), "model")
    path = Path(model_dir)
    path.mkdir(parents=True, exist_ok=True)
    model.save(path / KERAS_FILE)
    if export_saved_model:
        model.export(str(path / SAVED_MODEL_DIR), format="tf_saved_model", verbose=False)
    return model
