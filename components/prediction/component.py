"""KFP components for batch prediction."""
from kfp.dsl import Dataset, Input, Model, Output

from kfp_mlops.components.images import component


@component("core")
def fetch_model(registry_uri: str, model_name: str, model: Output[Model], version: str = "champion") -> str:
    """Copies a registered model version (the champion by default) into a Model artifact.

    Args:
        registry_uri: The model registry (local folder or ``vertex://PROJECT/LOCATION``).
        model_name: The registered model's name.
        model: The model directory, checked against its registered sha256.
        version: A version such as ``v3``, or an alias such as ``champion``.

    Returns:
        The resolved version.
    """
    from kfp_mlops.components.prediction.champion import fetch_registered_model

    resolved = fetch_registered_model(registry_uri, model_name, version, model.path)
    model.metadata.update({"model_name": model_name, "version": resolved})
    return resolved


@component("core")
def predict_batch(model: Input[Model], data: Input[Dataset], predictions: Output[Dataset], model_version: str):
    """Scores every row of a CSV dataset; writes the rows with predictions and the model version.

    Args:
        model: A model directory.
        data: CSV rows with the model's feature columns.
        predictions: The input columns plus ``prediction``, ``proba_<class>`` and ``model_version``.
        model_version: Recorded in every row and in the artifact's metadata.
    """
    from kfp_mlops.components.prediction.batch import predict_batch as score

    result = score(model.path, data.path, predictions.path, model_version)
    predictions.metadata.update({"rows": result.rows, "model_version": model_version,
                                 "prediction_counts": result.prediction_counts, "format": "csv"})
