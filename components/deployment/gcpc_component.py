"""KFP components that speak Google Cloud Pipeline Components' artifact types.

They chain with GCPC in either direction, with no glue code:

- :func:`export_container_model` turns our model into a ``google.UnmanagedContainerModel``
  (our serving container's image, command, routes and port) for GCPC's ``ModelUploadOp``;
- :func:`upload_vertex_model` uploads our model itself and emits a ``google.VertexModel``;
- :func:`deploy_vertex_model` takes any ``google.VertexModel`` (ours, or GCPC's
  ``ModelUploadOp`` output), canary-deploys it, and emits the ``google.VertexEndpoint``.

The types come from ``google-cloud-pipeline-components`` (the ``[gcp]`` extra, which our
``core`` image installs).
"""
from google_cloud_pipeline_components.types.artifact_types import (
    UnmanagedContainerModel,
    VertexEndpoint,
    VertexModel,
)
from kfp.dsl import Artifact, Dataset, Input, Model, Output

from kfp_mlops.components.images import component


@component("core")
def export_container_model(model: Input[Model], serving_image: str, container_model: Output[UnmanagedContainerModel]):
    """Describes our model as a Vertex unmanaged container model, ready for GCPC's ``ModelUploadOp``.

    Args:
        model: The model directory (its URI becomes the artifact URI Vertex downloads).
        serving_image: Our ``serve`` image.
        container_model: ``containerSpec`` (image, ``kfp-mlops serve`` command, ``/predict``
            and ``/health`` routes, port 8080) and empty ``predictSchemata``.
    """
    from kfp_mlops.components.deployment.vertex import container_spec

    container_model.uri = model.uri
    container_model.metadata.update({"containerSpec": container_spec(serving_image), "predictSchemata": {}})


@component("core")
def upload_vertex_model(
    project: str,
    location: str,
    model: Input[Model],
    serving_image: str,
    vertex_model: Output[VertexModel],
    display_name: str = "",
    api_endpoint: str = "",
):
    """Uploads our model to Vertex AI Model Registry and emits it as a ``google.VertexModel``.

    Args:
        project: Google Cloud project id.
        location: Region.
        model: The model directory (a ``gs://`` URI).
        serving_image: Our ``serve`` image.
        vertex_model: The uploaded model: ``resourceName`` and its REST URI.
        display_name: The model's display name (default: the model artifact's name).
        api_endpoint: API host override (tests).
    """
    from kfp_mlops.components.deployment.vertex import resource_uri
    from kfp_mlops.components.deployment.vertex import upload_vertex_model as upload

    name = upload(project, location, model.uri, serving_image, display_name or model.name or "model",
                  model_dir=model.path, api_endpoint=api_endpoint)
    vertex_model.uri = resource_uri(location, name, api_endpoint)
    vertex_model.metadata["resourceName"] = name


@component("core")
def deploy_vertex_model(
    project: str,
    location: str,
    endpoint_name: str,
    vertex_model: Input[VertexModel],
    examples: Input[Dataset],
    label: str,
    endpoint: Output[VertexEndpoint],
    deployment: Output[Artifact],
    canary_percent: int = 10,
    machine_type: str = "n1-standard-2",
    min_replicas: int = 1,
    max_replicas: int = 1,
    health_requests: int = 3,
    log_sampling_rate: float = 0.0,
    api_endpoint: str = "",
) -> bool:
    """Canary-deploys a ``google.VertexModel`` (ours or GCPC's) and emits the ``google.VertexEndpoint``.

    Args:
        project: Google Cloud project id.
        location: Region.
        endpoint_name: Endpoint display name; created when missing.
        vertex_model: An uploaded Vertex model (``resourceName`` in its metadata).
        examples: Eval split whose first rows are the health-check instances.
        label: The label column, dropped from the instances.
        endpoint: The endpoint: ``resourceName`` and its REST URI.
        deployment: JSON outcome: deployed model id, healthy, promoted, traffic split.
        canary_percent: Canary's share of traffic, 1..100.
        machine_type: Replica machine type.
        min_replicas: Minimum replicas.
        max_replicas: Maximum replicas.
        health_requests: Predictions sent during the health check.
        log_sampling_rate: Request-response logging of a new endpoint to BigQuery (0: off).
        api_endpoint: API host override (tests).

    Returns:
        True when the canary was promoted.
    """
    import json

    from kfp_mlops.components.deployment.vertex import deploy_model_to_vertex, resource_uri

    result = deploy_model_to_vertex(
        project, location, endpoint_name, "", "", model_resource_name=vertex_model.metadata["resourceName"],
        examples_path=examples.path, label=label, canary_percent=canary_percent, machine_type=machine_type,
        min_replicas=min_replicas, max_replicas=max_replicas, health_requests=health_requests,
        log_sampling_rate=log_sampling_rate, api_endpoint=api_endpoint)
    with open(deployment.path, "w") as handle:
        json.dump(result.to_dict(), handle, indent=2)
    endpoint.uri = resource_uri(location, result.endpoint, api_endpoint)
    endpoint.metadata["resourceName"] = result.endpoint
    deployment.metadata.update({"deployed_model_id": result.deployed_model_id, "promoted": result.promoted})
    return result.promoted
