"""KFP components for training: scikit-learn and Keras trainers.

Thin wrappers: each imports the library inside its body, maps artifacts to
paths, calls one library function and writes the outputs.
"""
from kfp.dsl import Artifact, Dataset, Input, Model, Output

from kfp_mlops.components.images import component


@component("core")
def train_sklearn(
    train: Input[Dataset],
    schema: Input[Artifact],
    model: Output[Model],
    label: str,
    estimator: str = "hist_gradient_boosting",
    task: str = "auto",
    hyperparameters: dict = {},
    seed: int = 42,
):
    """Trains a scikit-learn model whose preprocessing comes from the schema.

    Args:
        train: Training rows, CSV with a header.
        schema: TFX ``schema.pbtxt``: BYTES features and categorical INT
            features are one-hot/ordinal encoded, the rest are numbers.
        model: Output directory: ``model.joblib`` (a pipeline that scores raw
            rows) and ``feature_contract.json``. Metadata: framework,
            estimator, task, label, classes, rows, train_score.
        label: The label column.
        estimator: ``linear`` (LogisticRegression / Ridge), ``random_forest``
            or ``hist_gradient_boosting``.
        task: ``auto``, ``classification`` or ``regression``.
        hyperparameters: Estimator keyword arguments, e.g. ``{"max_depth": 3}``.
        seed: Random seed.
    """
    from kfp_mlops.components.training.sklearn_trainer import train_sklearn_model

    result = train_sklearn_model(
        train.path, schema.path, model.path, label, estimator=estimator, task=task,
        hyperparameters=hyperparameters, seed=seed,
    )
    model.metadata.update(result.metadata)


@component("tf")
def train_keras(
    train: Input[Dataset],
    eval: Input[Dataset],  # noqa: A002 - the split's name in the user's words
    schema: Input[Artifact],
    model: Output[Model],
    tensorboard: Output[Artifact],
    label: str,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    hidden_units: str = "64,32",
    seed: int = 42,
):
    """Trains a Keras model that serves raw rows, on the GPUs it finds or the CPU.

    Preprocessing (Normalization, StringLookup) is inside the model; training
    reads a cached, prefetched tf.data pipeline, stops early on validation
    loss, and uses MirroredStrategy over several GPUs and mixed precision on GPU.

    Args:
        train: Training rows, CSV with a header.
        eval: Evaluation rows: validation loss for early stopping.
        schema: TFX ``schema.pbtxt`` (feature types, string domains).
        model: Output directory: ``model.keras``, ``saved_model/`` (TF
            Serving / Vertex) and ``feature_contract.json``. Metadata: framework,
            task, label, classes, devices, strategy, mixed_precision, epochs_run,
            rows_per_second.
        tensorboard: TensorBoard log directory.
        label: The label column.
        epochs: Most epochs (early stopping may stop sooner).
        batch_size: Rows per step per replica.
        learning_rate: Adam learning rate.
        hidden_units: Dense layer widths, e.g. ``"64,32"``.
        seed: Random seed.
    """
    from kfp_mlops.components.training.keras_trainer import train_keras_model

    result = train_keras_model(
        train.path, eval.path, schema.path, model.path, tensorboard.path, label, epochs=epochs,
        batch_size=batch_size, learning_rate=learning_rate, hidden_units=hidden_units, seed=seed,
    )
    model.metadata.update(result.metadata)
    tensorboard.metadata["format"] = "tensorboard"
