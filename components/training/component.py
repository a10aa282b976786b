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
