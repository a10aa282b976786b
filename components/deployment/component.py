"""KFP components for deployment: local, Vertex AI and KServe targets."""
from kfp.dsl import Artifact, Dataset, Input, Model, Output

from kfp_mlops.components.images import component


@component("core")
def deploy_local(registry_uri: str, model_name: str, version: str = "champion") -> str:
    """Records which registry version the local endpoint serves (``<registry>/deployments.json``).

    Args:
        registry_uri: The local registry folder.
        model_name: The registered model name.
        version: Version or alias to deploy.

    Returns:
        The deployed version (aliases resolved).
    """
    from kfp_mlops.components.deployment.local import deploy_local as record_local_deployment

    return record_local_deployment(registry_uri, model_name, version)["version"]


@component("core")
def deploy_vertex_endpoint(
    project: str,
    location: str,
    endpoint_name: str,
    model: Input[Model],
    examples: Input[Dataset],
    label: str,
    serving_image: str,
    deployment: Output[Artifact],
    model_resource_name: str = "",
    canary_percent: int = 10,
    machine_type: str = "n1-standard-2",
    min_replicas: int = 1,
    max_replicas: int = 1,
    health_requests: int = 3,
    undeploy_previous: bool = True,
    api_endpoint: str = "",
    log_sampling_rate: float = 0.0,
    log_table: str = "",
) -> bool:
    """Deploys to a Vertex AI Endpoint as a canary, then promotes it or rolls it back.

    The canary takes ``canary_percent`` of the traffic; ``health_requests``
    predictions with rows from ``examples`` must succeed. Healthy: 100% of the
    traffic moves to it and older models are undeployed. Unhealthy: it is
    undeployed and the previous traffic split restored.

    Args:
        project: Google Cloud project id.
        location: Region, e.g. ``us-central1``.
        endpoint_name: Endpoint display name; created when missing.
        model: The model directory (its ``gs://`` URI is uploaded).
        examples: Eval split whose first rows are the health-check instances.
        label: The label column, dropped from the instances.
        serving_image: Our ``serve`` image.
        deployment: JSON outcome: endpoint, deployed model id, healthy, promoted, traffic split.
        model_resource_name: An uploaded Vertex model to deploy instead of uploading ``model``.
        canary_percent: Canary's share of traffic, 1..100.
        machine_type: Replica machine type.
        min_replicas: Minimum replicas.
        max_replicas: Maximum replicas.
        health_requests: Predictions sent during the health check.
        undeploy_previous: Undeploy the older models after promotion.
        api_endpoint: API host override (tests).
        log_sampling_rate: Request-response logging of a new endpoint to BigQuery, the share
            of requests logged (0: off); ``monitoring --serving-data bq://...`` reads it.
        log_table: ``bq://PROJECT.DATASET.TABLE`` for the log (empty: Vertex AI names one).

    Returns:
        True when the canary was promoted.
    """
    import json

    from kfp_mlops.components.deployment.vertex import deploy_model_to_vertex

    result = deploy_model_to_vertex(
        project, location, endpoint_name, model.uri, serving_image, model_resource_name=model_resource_name,
        examples_path=examples.path, label=label, model_dir=model.path, canary_percent=canary_percent,
        machine_type=machine_type,
        min_replicas=min_replicas, max_replicas=max_replicas, health_requests=health_requests,
        undeploy_previous=undeploy_previous, api_endpoint=api_endpoint, log_sampling_rate=log_sampling_rate,
        log_table=log_table)
    with open(deployment.path, "w") as handle:
        json.dump(result.to_dict(), handle, indent=2)
    deployment.metadata.update({"resourceName": result.endpoint, "deployed_model_id": result.deployed_model_id,
                                "promoted": result.promoted})
    return result.promoted


@component("serve")  # the serve image carries the kserve SDK
def deploy_kserve(
    name: str,
    namespace: str,
    model: Input[Model],
    serving_image: str,
    manifest: Output[Artifact],
    storage_uri: str = "",
    runtime: str = "kfp-mlops",
    canary_percent: int = 100,
    min_replicas: int = 1,
    max_replicas: int = 0,
    service_account: str = "",
    apply: bool = True,
    logger_url: str = "",
    signing_secret: str = "",
) -> str:
    """Builds a KServe InferenceService for the model, writes its manifest, and applies it.

    Args:
        name: InferenceService name.
        namespace: Kubernetes namespace.
        model: The model directory.
        serving_image: Our ``serve`` image (runtime ``kfp-mlops``).
        manifest: The InferenceService YAML.
        storage_uri: Where the cluster reads the model from; empty means ``model.uri``.
        runtime: ``kfp-mlops`` (our server) or ``sklearn`` (KServe's stock runtime).
        canary_percent: Traffic for the new revision on an update, 1..100.
        min_replicas: Minimum replicas.
        max_replicas: Maximum replicas; 0 leaves it to KServe.
        service_account: Service account with read access to the storage.
        apply: Apply to the cluster (in-cluster credentials); False only writes the manifest.
        logger_url: KServe's payload logger sends every request and response there as
            CloudEvents: our sink (``kfp_mlops.components.monitoring.kserve_sink``); empty: off.
        signing_secret: Kubernetes Secret holding the model signing key (under ``key``), mounted
            into the server so it checks the manifest's signature; the key never enters the spec.

    Returns:
        ``created``, ``patched`` or ``written``.
    """
    from kfp_mlops.components.deployment.kserve_manifest import deploy_inference_service

    outcome = deploy_inference_service(
        model.path, manifest.path, name, namespace, storage_uri or model.uri, serving_image, runtime,
        canary_percent, min_replicas, max_replicas, service_account, apply, logger_url=logger_url,
        signing_secret=signing_secret)
    manifest.metadata.update({"name": name, "namespace": namespace, "outcome": outcome})
    return outcome
