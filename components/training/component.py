"""KFP components for training: scikit-learn and Keras trainers, and tuning trials.

Thin wrappers: each imports the library inside its body, maps artifacts to
paths, calls one library function and writes the outputs.
"""
from typing import List

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
    eval: Input[Dataset] = None,  # noqa: A002 - the split's name in the user's words
):
    """Trains a scikit-learn model whose preprocessing comes from the schema.

    Args:
        train: Training rows, CSV with a header.
        schema: TFX ``schema.pbtxt``: BYTES features and categorical INT
            features are one-hot/ordinal encoded, the rest are numbers.
        model: Output directory: ``model.skops`` (a pipeline that scores raw
            rows), ``model.onnx`` when its export predicts the same on the eval
            rows, ``onnx_check.json``, ``feature_contract.json`` and
            ``model_manifest.json`` (the files' sha256, signed with
            ``$KFP_MLOPS_SIGNING_KEY``). Metadata: framework, estimator, task,
            label, classes, rows, train_score (on at most 10,000 sampled rows),
            the ONNX check (``onnx_passed``, ``onnx_reason``...).
        label: The label column.
        estimator: ``linear`` (LogisticRegression / Ridge), ``random_forest``
            or ``hist_gradient_boosting``.
        task: ``auto``, ``classification`` or ``regression``.
        hyperparameters: Estimator keyword arguments, e.g. ``{"max_depth": 3}``.
        seed: Random seed.
        eval: Evaluation rows, CSV: the ONNX export is checked on them
            (optional: without them, on a seeded sample of the training rows).
    """
    from kfp_mlops.components.training.sklearn_trainer import train_sklearn_model

    result = train_sklearn_model(
        train.path, schema.path, model.path, label, estimator=estimator, task=task,
        hyperparameters=hyperparameters, seed=seed, eval_path=eval.path if eval is not None else None,
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
    task: str = "auto",
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
            Serving / Vertex), ``feature_contract.json`` and ``model_manifest.json``. Metadata: framework,
            task, label, classes, devices, strategy, mixed_precision, epochs_run,
            rows_per_second.
        tensorboard: TensorBoard log directory.
        label: The label column.
        epochs: Most epochs (early stopping may stop sooner).
        batch_size: Rows per step per replica.
        learning_rate: Adam learning rate.
        hidden_units: Dense layer widths, e.g. ``"64,32"``.
        seed: Random seed.
        task: ``auto``, ``classification`` or ``regression``.
    """
    from kfp_mlops.components.training.keras_trainer import train_keras_model

    result = train_keras_model(
        train.path, eval.path, schema.path, model.path, tensorboard.path, label, epochs=epochs,
        batch_size=batch_size, learning_rate=learning_rate, hidden_units=hidden_units, seed=seed, task=task,
    )
    model.metadata.update(result.metadata)
    tensorboard.metadata["format"] = "tensorboard"


@component("core")
def make_trials(space: dict, strategy: str = "random", max_trials: int = 8, seed: int = 42) -> list:
    """Expands a search space into a bounded list of trials (one ParallelFor item each).

    Args:
        space: Hyperparameter -> list of choices, or ``{"min", "max"[, "log",
            "type": "int"]}`` range (random only). An ``estimator`` field
            searches over estimators.
        strategy: ``grid`` or ``random``.
        max_trials: Most trials (1 to 100).
        seed: Random seed.

    Returns:
        Trials ``{"trial": i, "estimator": ..., "hyperparameters": {...}}``.
    """
    from kfp_mlops.components.training.tuning import make_trial_list

    return make_trial_list(space, strategy=strategy, max_trials=max_trials, seed=seed)


@component("core")
def train_trial(
    train: Input[Dataset],
    eval: Input[Dataset],  # noqa: A002 - the split's name in the user's words
    schema: Input[Artifact],
    model: Output[Model],
    label: str,
    trial: dict,
    metric: str = "accuracy",
    task: str = "auto",
    seed: int = 42,
) -> float:
    """Trains one trial's scikit-learn model and scores it on the eval rows.

    Args:
        train: Training rows, CSV.
        eval: Rows the trial is scored on, CSV.
        schema: TFX ``schema.pbtxt``.
        model: The trial's model directory; metadata adds ``trial``,
            ``metric``, ``score`` and ``hyperparameters``.
        label: The label column.
        trial: One item of :func:`make_trials`.
        metric: accuracy, balanced_accuracy, f1_macro, log_loss, r2, rmse or mae.
        task: ``auto``, ``classification`` or ``regression``.
        seed: Random seed.

    Returns:
        The trial's score.
    """
    from kfp_mlops.components.training.tuning import run_trial

    score, metadata = run_trial(train.path, eval.path, schema.path, model.path, label, trial,
                                metric=metric, task=task, seed=seed)
    model.metadata.update(metadata)
    return score


@component("core")
def select_best_trial(
    scores: List[float],
    models: Input[List[Model]],
    best_model: Output[Model],
    metric: str = "accuracy",
) -> dict:
    """Picks the best trial by ``metric`` and passes on its model and parameters.

    Args:
        scores: Collected trial scores (floats: kfp.local collects ints as floats).
        models: Collected trial models; each carries its trial, score and
            hyperparameters in its metadata.
        best_model: A copy of the best trial's model directory and metadata.
        metric: The metric the trials were scored with (its direction decides).

    Returns:
        ``{"trial", "estimator", "hyperparameters", "metric", "score", "scores"}``.
    """
    from kfp_mlops.components.training.tuning import select_best

    summary, metadata = select_best(scores, [m.path for m in models], [m.metadata for m in models],
                                    metric, best_model.path)
    best_model.metadata.update(metadata)
    return summary
