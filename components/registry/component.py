"""KFP components for the model registry: register a blessed model, promote a version."""
from typing import Optional

from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Model, Output

from kfp_mlops.components.images import component


@component("core")
def register_model(
    model: Input[Model],
    metrics: Input[Metrics],
    registry_uri: str,
    model_name: str,
    dataset: Input[Dataset] = None,
    schema: Input[Artifact] = None,
    pipeline_run_id: str = "",
    alias: str = "challenger",
    statistics: Input[Artifact] = None,
) -> str:
    """Registers a model directory as a new version, with its metrics and lineage.

    Idempotent on the model files' sha256: registering the same files again
    returns the existing version. Lineage records the training data's and the
    schema's sha256 (plus the ingested source file's, from the dataset's
    ``source_sha256`` metadata), the git commit, the pipeline run id and the
    model's sha256.

    Args:
        model: The model directory.
        metrics: The evaluation metrics to record (from ``evaluate_model``).
        registry_uri: A local folder, or ``vertex://PROJECT/LOCATION``.
        model_name: The model's registry name.
        dataset: The training data, hashed into the lineage (optional).
        schema: The schema.pbtxt, hashed into the lineage (optional).
        statistics: The training statistics. With ``schema``, the version carries
            both as its training baseline (``baseline/`` in the stored directory),
            which batch prediction and monitoring read with ``fetch_baseline``.
        pipeline_run_id: The pipeline run, e.g. ``dsl.PIPELINE_JOB_NAME_PLACEHOLDER``.
        alias: Alias to point at the version (``challenger``); promote to
            ``champion`` with ``promote_model``.

    Returns:
        The version id, e.g. ``v3``.
    """
    from kfp_mlops.components.registry.register import register_artifact

    return register_artifact(
        registry_uri, model_name, model.path, dict(metrics.metadata),
        dataset_path=dataset.path if dataset else None,
        dataset_sha256=dataset.metadata.get("sha256", "") if dataset else "",
        source_sha256=dataset.metadata.get("source_sha256", "") if dataset else "",
        schema_path=schema.path if schema else None, pipeline_run_id=pipeline_run_id, alias=alias,
        statistics_path=statistics.path if statistics else None,
    )


@component("core")
def promote_model(registry_uri: str, model_name: str, version: str, alias: str = "champion",
                  expected_champion: Optional[str] = None, gate_report: Input[Markdown] = None) -> str:
    """Points an alias (``champion`` by default) at a registered version, as a compare-and-swap.

    Args:
        registry_uri: A local folder, or ``vertex://PROJECT/LOCATION``.
        model_name: The model's registry name.
        version: The version to promote, e.g. ``v3`` (``register_model``'s output).
        alias: The alias to move.
        expected_champion: The champion the run compared with, pinned as
            ``"<version>@<sha256>"`` by ``current_champion`` (``""``: there was
            none). The promotion fails with ``PromotionError`` when the champion
            has changed since, or when the version's inputs (feature names and
            types, per the feature contract) differ from that champion's: a
            breaking change is left as challenger for a person to promote. None
            promotes unconditionally.
        gate_report: The evaluation's report; its ``verdict`` and ``reason``
            metadata are the why of the registry's audit trail.

    Returns:
        The promoted version id.
    """
    from kfp_mlops.components.registry.register import promote

    reason = ""
    if gate_report is not None:
        verdict, why = gate_report.metadata.get("verdict", ""), gate_report.metadata.get("reason", "")
        reason = f"{verdict}: {why}" if verdict and why else verdict or why
    return promote(registry_uri, model_name, version, alias, expected_champion, reason=reason)


@component("core")
def current_champion(registry_uri: str, model_name: str) -> str:
    """Pins the registry's current champion as ``"<version>@<sha256>"`` (empty when there is none).

    Evaluation takes the pin as an input, so its cache key changes whenever the
    champion does, and the gate always compares with the champion of this run.

    Args:
        registry_uri: The model registry.
        model_name: The registered model's name.

    Returns:
        The pin, or ``""``.
    """
    from kfp_mlops.components.registry import open_registry

    return open_registry(registry_uri).pin(model_name)


@component("core")
def fetch_baseline(registry_uri: str, model_name: str, statistics: Output[Artifact], schema: Output[Artifact],
                   version: str = "champion", label: str = "", drift_threshold: float = -1.0) -> str:
    """Writes the training statistics and schema a registered version carries; returns its label.

    Args:
        registry_uri: The model registry.
        model_name: The registered model's name.
        statistics: The training statistics (binary ``DatasetFeatureStatisticsList``).
        schema: The training schema (``schema.pbtxt``, TRAINING and SERVING environments).
        version: A version, or an alias such as ``champion``.
        label: Overrides the label of the version's feature contract.
        drift_threshold: When >= 0, every feature's drift and skew threshold.

    Returns:
        The label column.
    """
    from kfp_mlops.components.registry.baseline import export_baseline

    return export_baseline(registry_uri, model_name, version, statistics.path, schema.path, label, drift_threshold)
