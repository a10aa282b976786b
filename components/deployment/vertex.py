"""Vertex AI: deploy a model to an Endpoint as a canary, check its health, then promote or roll back.

The steps, all through ``google-cloud-aiplatform``:

1. obtain the model: ``aiplatform.Model(resource_name)``, or ``Model.upload`` of
   a model directory with our ``serve`` image running ``kfp-mlops serve``, which
   downloads ``$AIP_STORAGE_URI`` (predict route ``/predict``, health route
   ``/health``, port 8080: see :mod:`.server` and :mod:`.storage`);
2. obtain the endpoint by display name, creating it when there is none;
3. ``endpoint.deploy(model, traffic_percentage=canary_percent)``: the canary
   takes ``canary_percent`` of the traffic and the models already there keep
   the rest, in proportion (an empty endpoint gives the first model 100%);
4. health check: the canary must be listed on the endpoint, and when
   ``health_instances`` are given, ``health_requests`` predictions through the
   endpoint must all answer one prediction per instance;
5. healthy: traffic goes 100% to the canary (``endpoint.update``) and, with
   ``undeploy_previous``, the older models are undeployed; unhealthy: the
   canary is undeployed and the previous traffic split restored.
"""
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from kfp_mlops.components.core.errors import InputError

logger = logging.getLogger(__name__)

PREDICT_ROUTE = "/predict"
HEALTH_ROUTE = "/health"
SERVING_PORT = 8080
# The container downloads $AIP_STORAGE_URI and listens on $AIP_HTTP_PORT (see pipelines/cli/serve.py).
# Only Vertex's frontend, which authenticates callers with IAM, reaches the container: no bearer token.
SERVE_COMMAND = ["kfp-mlops", "serve", "--host", "0.0.0.0", "--allow-unauthenticated"]


@dataclass
class VertexDeployment:
    """What the canary deployment did.

    Attributes:
        endpoint: Endpoint resource name.
        model: Model resource name.
        deployed_model_id: The canary's deployed model id ('' if the deploy failed).
        healthy: Whether the canary passed the health check.
        promoted: True when the canary now takes 100% of the traffic.
        traffic_split: The endpoint's traffic split at the end.
        checks: One line per step.
    """

    endpoint: str = ""
    model: str = ""
    deployed_model_id: str = ""
    canary_percent: int = 0
    healthy: bool = False
    promoted: bool = False
    traffic_split: dict[str, int] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)

    def log(self, line: str) -> None:
        """Records and prints one step."""
        self.checks.append(line)
        logger.info(f"  vertex: {line}")

    def to_dict(self) -> dict[str, Any]:
        """The outcome as plain JSON values."""
        return asdict(self)


def init_vertex(project: str, location: str, api_endpoint: str = "", credentials: Any = None) -> Any:
    """Initializes aiplatform and returns the module (imported lazily: it takes seconds).

    Args:
        project: Google Cloud project id.
        location: Region, e.g. ``us-central1``.
        api_endpoint: Override of the API host, e.g. ``http://127.0.0.1:PORT``
            for a loopback server (REST transport is then used; a plain-HTTP
            host gets anonymous credentials).
        credentials: google.auth credentials; None means the default ones.

    Raises:
        InputError: If project or location is empty.
    """
    if not project or not location:
        raise InputError("Vertex deployment needs both 'project' and 'location'")
    from google.cloud import aiplatform

    kwargs: dict[str, Any] = {"project": project, "location": location}
    if api_endpoint:
        kwargs.update(api_endpoint=api_endpoint, api_transport="rest")
    if credentials is None and api_endpoint.startswith("http://"):
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()  # a plain-HTTP emulator on loopback takes no token
    if credentials is not None:
        kwargs["credentials"] = credentials
    aiplatform.init(**kwargs)
    return aiplatform


def obtain_model(aiplatform: Any, model_resource_name: str, artifact_uri: str, display_name: str,
                 serving_image: str) -> Any:
    """Returns an existing Vertex Model, or uploads the model directory at ``artifact_uri``.

    Raises:
        InputError: If neither a resource name nor an artifact URI with an image is given.
    """
    if model_resource_name:
        return aiplatform.Model(model_name=model_resource_name)
    if not artifact_uri or not serving_image:
        raise InputError("give 'model_resource_name', or both 'artifact_uri' and 'serving_image' to upload")
    return aiplatform.Model.upload(
        display_name=display_name, artifact_uri=artifact_uri, serving_container_image_uri=serving_image,
        serving_container_command=SERVE_COMMAND,
        serving_container_predict_route=PREDICT_ROUTE, serving_container_health_route=HEALTH_ROUTE,
        serving_container_ports=[SERVING_PORT], sync=True)


def obtain_endpoint(aiplatform: Any, display_name: str, log_sampling_rate: float = 0.0, log_table: str = "") -> Any:
    """Returns the endpoint with this display name, creating it when there is none.

    Args:
        aiplatform: The initialized ``google.cloud.aiplatform`` module.
        display_name: The endpoint's display name.
        log_sampling_rate: Share of requests that a new endpoint logs to BigQuery
            (request-response logging), in [0, 1]; 0 turns logging off.
        log_table: ``bq://PROJECT.DATASET.TABLE`` for the log; empty lets Vertex AI create
            ``logging_<endpoint>_<id>.request_response_logging`` in the project.
    """
    if not display_name:
        raise InputError("field 'endpoint_name' is empty")
    if not 0.0 <= log_sampling_rate <= 1.0:
        raise InputError(f"field 'log_sampling_rate' must be between 0 and 1, got {log_sampling_rate}")
    found = aiplatform.Endpoint.list(filter=f'display_name="{display_name}"')
    if found:
        return found[0]
    logging_options: dict[str, Any] = {}
    if log_sampling_rate > 0:
        logging_options = {"enable_request_response_logging": True,
                           "request_response_logging_sampling_rate": log_sampling_rate,
                           "request_response_logging_bq_destination_table": log_table or None}
    return aiplatform.Endpoint.create(display_name=display_name, sync=True, **logging_options)


def check_health(endpoint: Any, deployed_model_id: str, instances: list | None, requests: int) -> list[str]:
    """Returns the health problems of the canary; an empty list means healthy."""
    problems: list[str] = []
    instances = instances or []
    if deployed_model_id not in {m.id for m in endpoint.list_models()}:
        problems.append(f"deployed model {deployed_model_id} is not listed on the endpoint")
    for attempt in range(requests if instances else 0):
        try:
            predictions = endpoint.predict(instances=instances).predictions or []
        except Exception as error:  # noqa: BLE001 - any failure is a failed health check
            problems.append(f"predict {attempt + 1}/{requests} failed: {error}")
            continue
        if len(predictions) != len(instances):
            problems.append(f"predict {attempt + 1}/{requests}: {len(predictions)} predictions "
                            f"for {len(instances)} instances")
    return problems


def deploy_with_canary(
    project: str, location: str, endpoint_name: str, model_resource_name: str = "", artifact_uri: str = "",
    serving_image: str = "", model_display_name: str = "", canary_percent: int = 10,
    machine_type: str = "n1-standard-2", min_replicas: int = 1, max_replicas: int = 1,
    health_instances: list | None = None, health_requests: int = 3, undeploy_previous: bool = True,
    api_endpoint: str = "", credentials: Any = None, log_sampling_rate: float = 0.0, log_table: str = "",
) -> VertexDeployment:
    """Deploys to a Vertex AI Endpoint as a canary, then promotes it or rolls it back.

    Args:
        project: Google Cloud project id.
        location: Region.
        endpoint_name: Endpoint display name; created when missing.
        model_resource_name: An uploaded model (``projects/.../models/ID``); or
        artifact_uri: ``gs://`` folder of the model directory to upload with
        serving_image: our ``serve`` image.
        model_display_name: Display name of an uploaded model and of the deployed model.
        canary_percent: Share of traffic for the canary, 1..100.
        machine_type: Machine type of the replicas.
        min_replicas: Minimum replicas.
        max_replicas: Maximum replicas.
        health_instances: Raw rows to predict on during the health check (V1 instances).
        health_requests: Predictions to send during the health check.
        undeploy_previous: Undeploy the older models once the canary is promoted.
        api_endpoint: API host override (a loopback server in tests).
        credentials: google.auth credentials; None means the default ones.
        log_sampling_rate: Request-response logging of a new endpoint to BigQuery, the share of
            requests logged (0: off); ``monitoring`` reads that table (``bq://...``).
        log_table: ``bq://PROJECT.DATASET.TABLE`` for the log (empty: Vertex AI names one).

    Returns:
        A :class:`VertexDeployment`.

    Raises:
        InputError: On a bad argument (percent out of range, missing model).
    """
    if not 1 <= canary_percent <= 100:
        raise InputError(f"canary_percent must be between 1 and 100, got {canary_percent}")
    if not 0.0 <= log_sampling_rate <= 1.0:
        raise InputError(f"field 'log_sampling_rate' must be between 0 and 1, got {log_sampling_rate}")
    aiplatform = init_vertex(project, location, api_endpoint, credentials)
    model = obtain_model(aiplatform, model_resource_name, artifact_uri, model_display_name or endpoint_name,
                         serving_image)
    endpoint = obtain_endpoint(aiplatform, endpoint_name, log_sampling_rate, log_table)
    result = VertexDeployment(endpoint=endpoint.resource_name, model=model.resource_name,
                              canary_percent=canary_percent)
    previous_split = _split(endpoint)
    previous_ids = {m.id for m in endpoint.list_models()}
    percent = canary_percent if previous_split else 100
    result.log(f"deploying {model.resource_name} to {endpoint.resource_name} with {percent}% of traffic"
               + (f" (previous split {previous_split})" if previous_split else " (empty endpoint)"))
    started = time.monotonic()
    try:
        endpoint.deploy(model=model, deployed_model_display_name=model_display_name or None,
                        traffic_percentage=percent, machine_type=machine_type, min_replica_count=min_replicas,
                        max_replica_count=max_replicas, sync=True)
    except Exception as error:  # noqa: BLE001 - a failed deploy leaves the endpoint as it was
        result.log(f"deploy failed: {error}")
        result.traffic_split = dict(aiplatform.Endpoint(endpoint.resource_name).traffic_split or {})
        return result
    new_ids = [m.id for m in endpoint.list_models() if m.id not in previous_ids]
    result.deployed_model_id = new_ids[0] if new_ids else ""
    result.log(f"canary {result.deployed_model_id} deployed in {time.monotonic() - started:.1f} s; "
               f"split {_split(endpoint)}")
    problems = check_health(endpoint, result.deployed_model_id, health_instances, health_requests)
    result.healthy = not problems
    if result.healthy:
        promote(endpoint, result, undeploy_previous)
    else:
        for problem in problems:
            result.log(f"health check: {problem}")
        rollback(endpoint, result, previous_split)
    result.traffic_split = _split(endpoint)
    return result


def container_spec(serving_image: str) -> dict[str, Any]:
    """Our serving container as a Vertex ``ModelContainerSpec`` (REST field names).

    It is what ``Model.upload`` sends, and the ``containerSpec`` of a GCPC
    ``google.UnmanagedContainerModel`` that ``ModelUploadOp`` takes.

    Raises:
        InputError: For an empty image.
    """
    if not serving_image:
        raise InputError("field 'serving_image' is empty: the Vertex model runs our serve image")
    return {"imageUri": serving_image, "command": list(SERVE_COMMAND), "predictRoute": PREDICT_ROUTE,
            "healthRoute": HEALTH_ROUTE, "ports": [{"containerPort": SERVING_PORT}]}


def resource_uri(location: str, resource_name: str, api_endpoint: str = "") -> str:
    """The REST URI of a Vertex resource, the ``uri`` of GCPC's ``google.Vertex*`` artifacts."""
    host = api_endpoint.rstrip("/") if api_endpoint else f"https://{location}-aiplatform.googleapis.com"
    return f"{host}/v1/{resource_name}"


def upload_vertex_model(project: str, location: str, model_uri: str, serving_image: str, display_name: str,
                        model_dir: str = "", api_endpoint: str = "", credentials: Any = None) -> str:
    """Uploads a model directory to Vertex AI Model Registry with our serving container.

    Args:
        project: Google Cloud project id.
        location: Region.
        model_uri: ``gs://`` folder of the model directory.
        serving_image: Our ``serve`` image.
        display_name: The model's display name.
        model_dir: A local (or FUSE) path to the same files: verified against its signed
            manifest before anything is uploaded.
        api_endpoint: API host override (a loopback server in tests).
        credentials: google.auth credentials; None means the default ones.

    Returns:
        The model's resource name (``projects/.../locations/.../models/ID``).

    Raises:
        ChecksumError: If ``model_dir`` fails verification; nothing is uploaded.
    """
    container_spec(serving_image)  # checks the image
    if model_dir:
        from kfp_mlops.components.core.model_io import verify_model_dir

        verify_model_dir(model_dir)
    aiplatform = init_vertex(project, location, api_endpoint, credentials)
    return obtain_model(aiplatform, "", model_uri, display_name, serving_image).resource_name


def deploy_model_to_vertex(
    project: str, location: str, endpoint_name: str, model_uri: str, serving_image: str,
    model_resource_name: str = "", examples_path: str = "", label: str = "", health_rows: int = 5,
    model_dir: str = "", **options: Any,
) -> VertexDeployment:
    """Canary-deploys a model artifact, health-checking it with real rows from an eval split.

    Args:
        project: Google Cloud project id.
        location: Region.
        endpoint_name: Endpoint display name.
        model_uri: ``gs://`` folder of the model directory (uploaded unless ``model_resource_name``).
        serving_image: Our ``serve`` image.
        model_resource_name: An already uploaded model to deploy instead.
        examples_path: Eval split CSV; its first ``health_rows`` rows are the health-check instances.
        label: The label column, dropped from the instances.
        health_rows: Rows per health-check prediction.
        model_dir: A local (or FUSE) path to the same files as ``model_uri``: verified against
            its manifest and signature before the upload (the serving container verifies again).
        **options: Passed to :func:`deploy_with_canary` (canary_percent, machine_type, ...).

    Raises:
        ChecksumError: If ``model_dir`` fails verification; nothing is uploaded.
    """
    if model_dir and not model_resource_name:
        from kfp_mlops.components.core.model_io import verify_model_dir

        verify_model_dir(model_dir)
    instances = None
    if examples_path:
        from kfp_mlops.components.core.payloads import frame_records
        from kfp_mlops.components.core.tables import read_examples

        frame = read_examples(examples_path, label, health_rows)
        instances = frame_records(frame, list(frame.columns))
    return deploy_with_canary(project, location, endpoint_name, model_resource_name=model_resource_name,
                              artifact_uri="" if model_resource_name else model_uri, serving_image=serving_image,
                              health_instances=instances, **options)


def _split(endpoint: Any) -> dict[str, int]:
    """The endpoint's traffic split, sorted by deployed model id."""
    return dict(sorted(dict(endpoint.traffic_split or {}).items()))


def promote(endpoint: Any, result: VertexDeployment, undeploy_previous: bool) -> None:
    """Sends 100% of the traffic to the canary and, optionally, undeploys the others."""
    if dict(endpoint.traffic_split).get(result.deployed_model_id) != 100:
        endpoint.update(traffic_split={result.deployed_model_id: 100})
    result.promoted = True
    result.log(f"healthy: promoted {result.deployed_model_id} to 100% of traffic")
    if undeploy_previous:
        for deployed in endpoint.list_models():
            if deployed.id != result.deployed_model_id:
                endpoint.undeploy(deployed_model_id=deployed.id, sync=True)
                result.log(f"undeployed previous model {deployed.id}")


def rollback(endpoint: Any, result: VertexDeployment, previous_split: dict[str, int]) -> None:
    """Undeploys the canary and restores the previous traffic split."""
    if not result.deployed_model_id:
        return
    endpoint.undeploy(deployed_model_id=result.deployed_model_id, traffic_split=previous_split or None, sync=True)
    result.log(f"rolled back: undeployed {result.deployed_model_id}, traffic split restored to {previous_split}")
