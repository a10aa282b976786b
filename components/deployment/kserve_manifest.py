"""KServe target: an InferenceService built with the kserve SDK's models, applied with the kubernetes client.

Two ways to serve a model directory at ``storage_uri`` (``gs://``, ``s3://``, ``pvc://``):

- ``runtime="kfp-mlops"`` (default, sklearn and Keras): a custom predictor
  container, our ``serve`` image running ``kfp-mlops serve --model-dir
  /mnt/models``. KServe's storage initializer downloads ``STORAGE_URI`` to
  ``/mnt/models``. It takes raw rows and answers V1, V2 and Vertex routes,
  exactly like the local endpoint.
- ``runtime="sklearn"``: KServe's stock sklearn runtime
  (``model.modelFormat.name: sklearn``) loading ``model.joblib``. It unpickles
  the file with no integrity check of its own, and our trainers now write
  ``model.skops``, so it serves only older ``model.joblib`` directories (verified
  here, at deployment time).

The model directory is verified against its manifest (and signature) before a
manifest is built. ``signing_secret`` names a Kubernetes Secret holding the
signing key under the key ``key``; our server container mounts it read-only and
reads it through ``KFP_MLOPS_SIGNING_KEY_FILE``, so the key never appears in the
InferenceService.

``canary_percent`` sets ``canaryTrafficPercent`` (always, 100 for a full
rollout): on an update, the new revision takes that share of the traffic and
the previous one the rest, until :func:`set_canary_traffic` promotes (100) or
rolls back (0).
"""
import logging
from typing import Any

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.kubernetes import kubernetes_api_client

logger = logging.getLogger(__name__)

GROUP = "serving.kserve.io"
VERSION = "v1beta1"
PLURAL = "inferenceservices"
MODEL_MOUNT = "/mnt/models"
RUNTIMES = ("kfp-mlops", "sklearn")
SIGNING_KEY_MOUNT = "/var/run/secrets/kfp-mlops"


def build_inference_service(
    name: str, namespace: str, storage_uri: str, serving_image: str = "", runtime: str = "kfp-mlops",
    framework: str = "sklearn", canary_percent: int = 100, min_replicas: int = 1, max_replicas: int = 0,
    cpu: str = "1", memory: str = "2Gi", service_account: str = "", labels: dict[str, str] | None = None,
    logger_url: str = "", logger_mode: str = "all",
    signing_secret: str = "",
) -> Any:
    """Builds a ``V1beta1InferenceService`` serving one model directory.

    Args:
        name: InferenceService name (a DNS-1035 label).
        namespace: Kubernetes namespace.
        storage_uri: Where the model directory lives (``gs://``, ``s3://``, ``pvc://``).
        serving_image: Our ``serve`` image; required with ``runtime="kfp-mlops"``.
        runtime: ``kfp-mlops`` (our server) or ``sklearn`` (KServe's stock sklearn runtime).
        framework: The model's framework, ``sklearn`` or ``keras``.
        canary_percent: Traffic for the new revision on an update, 1..100.
        min_replicas: Minimum replicas.
        max_replicas: Maximum replicas; 0 leaves it to KServe.
        cpu: CPU request and limit.
        memory: Memory request and limit.
        service_account: Service account with read access to ``storage_uri``.
        labels: Extra labels (e.g. the registry version).
        logger_url: Where KServe's payload logger sends each request and response as
            CloudEvents (our sink, ``kfp_mlops.components.monitoring.kserve_sink``); empty: no logging.
        logger_mode: ``all``, ``request`` or ``response``.
        signing_secret: A Kubernetes Secret with the model signing key under ``key``, mounted into our
            server container (runtime ``kfp-mlops``) so it verifies the manifest's signature.

    Raises:
        InputError: naming the field at fault.
    """
    import re

    from kserve import (
        V1beta1InferenceService,
        V1beta1InferenceServiceSpec,
        V1beta1LoggerSpec,
        V1beta1ModelFormat,
        V1beta1ModelSpec,
        V1beta1PredictorSpec,
    )
    from kubernetes.client import (
        V1Container,
        V1ContainerPort,
        V1EnvVar,
        V1ObjectMeta,
        V1ResourceRequirements,
        V1SecretVolumeSource,
        V1Volume,
        V1VolumeMount,
    )

    if not re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", name or ""):
        raise InputError(f"field 'name' must be a DNS-1035 label (lowercase letters, digits, '-'), got {name!r}")
    if not namespace:
        raise InputError("field 'namespace' is empty")
    if not storage_uri:
        raise InputError("field 'storage_uri' is empty")
    if runtime not in RUNTIMES:
        raise InputError(f"field 'runtime' must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if runtime == "sklearn" and framework != "sklearn":
        raise InputError(f"runtime 'sklearn' cannot serve a {framework!r} model; use runtime 'kfp-mlops'")
    if runtime == "kfp-mlops" and not serving_image:
        raise InputError("field 'serving_image' is empty: runtime 'kfp-mlops' runs our serve image")
    if signing_secret and runtime != "kfp-mlops":
        raise InputError("field 'signing_secret' needs runtime 'kfp-mlops': KServe's stock runtime does not verify")
    if not 1 <= canary_percent <= 100:
        raise InputError(f"field 'canary_percent' must be between 1 and 100, got {canary_percent}")
    resources = V1ResourceRequirements(requests={"cpu": cpu, "memory": memory}, limits={"cpu": cpu, "memory": memory})
    predictor = V1beta1PredictorSpec(
        min_replicas=min_replicas, max_replicas=max_replicas or None,
        # Always explicit: a merge patch cannot remove a field, so 100 must overwrite an earlier canary's 10.
        canary_traffic_percent=canary_percent,
        service_account_name=service_account or None,
        logger=V1beta1LoggerSpec(mode=logger_mode, url=logger_url) if logger_url else None)
    if runtime == "sklearn":
        predictor.model = V1beta1ModelSpec(model_format=V1beta1ModelFormat(name="sklearn"), storage_uri=storage_uri,
                                           protocol_version="v2", resources=resources)
    else:
        env = [V1EnvVar(name="STORAGE_URI", value=storage_uri)]
        mounts = None
        if signing_secret:
            env.append(V1EnvVar(name="KFP_MLOPS_SIGNING_KEY_FILE", value=f"{SIGNING_KEY_MOUNT}/key"))
            mounts = [V1VolumeMount(name="kfp-mlops-signing-key", mount_path=SIGNING_KEY_MOUNT, read_only=True)]
            predictor.volumes = [V1Volume(name="kfp-mlops-signing-key",
                                          secret=V1SecretVolumeSource(secret_name=signing_secret))]
        predictor.containers = [V1Container(
            name="kserve-container", image=serving_image,
            command=["kfp-mlops", "serve"],
            args=["--model-dir", MODEL_MOUNT, "--name", name, "--host", "0.0.0.0", "--port", "8080",
                  # the cluster's ingress (Istio/Knative) authenticates; the repository routes stay off
                  "--allow-unauthenticated"],
            env=env, volume_mounts=mounts,
            ports=[V1ContainerPort(container_port=8080, protocol="TCP")], resources=resources)]
    metadata = V1ObjectMeta(name=name, namespace=namespace, labels={
        "app.kubernetes.io/managed-by": "kfp-mlops", "kfp-mlops/framework": framework, **(labels or {})})
    return V1beta1InferenceService(api_version=f"{GROUP}/{VERSION}", kind="InferenceService", metadata=metadata,
                                   spec=V1beta1InferenceServiceSpec(predictor=predictor))


def to_dict(inference_service: Any) -> dict[str, Any]:
    """The InferenceService as the JSON the Kubernetes API takes (camelCase, no nulls)."""
    from kubernetes.client import ApiClient

    return ApiClient().sanitize_for_serialization(inference_service)


def to_yaml(inference_service: Any) -> str:
    """The InferenceService as a YAML manifest for ``kubectl apply -f``."""
    import yaml

    return yaml.safe_dump(to_dict(inference_service), sort_keys=False)




def apply_inference_service(inference_service: Any, api_client: Any = None) -> str:
    """Creates the InferenceService, or patches it when it exists; returns ``created`` or ``patched``."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    api = client.CustomObjectsApi(api_client or kubernetes_api_client())
    body = to_dict(inference_service)
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    try:
        api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except ApiException as error:
        if error.status != 404:
            raise
        api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
        logger.info(f"Created InferenceService {namespace}/{name}")
        return "created"
    api.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, body)
    logger.info(f"Patched InferenceService {namespace}/{name}")
    return "patched"


def set_canary_traffic(name: str, namespace: str, percent: int, api_client: Any = None) -> None:
    """Promotes (100) or rolls back (0) the latest revision by patching ``canaryTrafficPercent``."""
    from kubernetes import client

    if not 0 <= percent <= 100:
        raise InputError(f"percent must be between 0 and 100, got {percent}")
    patch = {"spec": {"predictor": {"canaryTrafficPercent": percent}}}
    client.CustomObjectsApi(api_client or kubernetes_api_client()).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, patch)
    logger.info(f"InferenceService {namespace}/{name}: latest revision at {percent}% of traffic")


def deploy_inference_service(
    model_path: str, manifest_path: str, name: str, namespace: str, storage_uri: str, serving_image: str = "",
    runtime: str = "kfp-mlops", canary_percent: int = 100, min_replicas: int = 1, max_replicas: int = 0,
    service_account: str = "", apply: bool = True, kubernetes_host: str = "", labels: dict[str, str] | None = None,
    logger_url: str = "",
    signing_secret: str = "",
) -> str:
    """Builds the InferenceService for a model directory, writes its YAML, and applies it.

    Args:
        model_path: The model directory (its contract gives the framework).
        manifest_path: Where to write the YAML manifest.
        name: InferenceService name.
        namespace: Kubernetes namespace.
        storage_uri: Where the cluster reads the model directory from.
        serving_image: Our ``serve`` image (runtime ``kfp-mlops``).
        runtime: ``kfp-mlops`` or ``sklearn``.
        canary_percent: Traffic for the new revision on an update.
        min_replicas: Minimum replicas.
        max_replicas: Maximum replicas; 0 leaves it to KServe.
        service_account: Service account with read access to ``storage_uri``.
        apply: Apply to the cluster; False only writes the manifest.
        kubernetes_host: API server URL override; empty means in-cluster, then kubeconfig.
        labels: Extra labels.
        logger_url: Where KServe's payload logger sends requests and responses (empty: off).
        signing_secret: Kubernetes Secret holding the signing key (see :func:`build_inference_service`).

    Returns:
        ``created``, ``patched`` or ``written`` (not applied).

    Raises:
        ChecksumError: If the model directory fails verification (nothing is written or applied).
        InputError: For runtime ``sklearn`` on a directory with no ``model.joblib``, or a bad field.
    """
    from pathlib import Path

    from kfp_mlops.components.core.model_io import SKLEARN_FILE, load_contract, verify_model_dir

    verify_model_dir(model_path)
    framework = load_contract(model_path).framework
    if runtime == "sklearn" and not (Path(model_path) / SKLEARN_FILE).is_file():
        raise InputError(f"runtime 'sklearn' (KServe's stock runtime) loads {SKLEARN_FILE}, which {model_path} does "
                         "not hold (models are saved with skops); use runtime 'kfp-mlops'")
    if storage_uri.startswith("minio://"):
        # KFP's MinIO artifact store; KServe's storage initializer reads it as S3 (the service account
        # carries the MinIO endpoint and credentials, as for any S3-compatible store).
        storage_uri = "s3://" + storage_uri[len("minio://"):]
    service = build_inference_service(name, namespace, storage_uri, serving_image, runtime, framework,
                                      canary_percent, min_replicas, max_replicas, service_account=service_account,
                                      labels=labels, logger_url=logger_url, signing_secret=signing_secret)
    Path(manifest_path).parent.mkdir(parents=True, exist_ok=True)
    Path(manifest_path).write_text(to_yaml(service))
    if not apply:
        return "written"
    return apply_inference_service(service, kubernetes_api_client(kubernetes_host) if kubernetes_host else None)
