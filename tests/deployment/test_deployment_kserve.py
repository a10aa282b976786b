"""The KServe InferenceService manifest, and applying it with the kubernetes client against a loopback API server."""
from __future__ import annotations

import pytest
import yaml

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.kubernetes import kubernetes_api_client
from kfp_mlops.components.deployment.kserve_manifest import (
    apply_inference_service,
    build_inference_service,
    set_canary_traffic,
    to_dict,
    to_yaml,
)
from tests.support.loopback import LoopbackJsonServer

COLLECTION = "/apis/serving.kserve.io/v1beta1/namespaces/models/inferenceservices"


class FakeKubernetes(LoopbackJsonServer):
    """Stores InferenceServices by name; every request (method, path, body, content type) is recorded."""

    def __init__(self):
        self.objects: dict[str, dict] = {}
        super().__init__()

    def route(self, method: str, path: str, query: dict, body: dict) -> tuple[int, dict]:
        name = path.rsplit("/", 1)[-1]
        if method == "POST" and path == COLLECTION:
            self.objects[body["metadata"]["name"]] = body
            return 201, body
        if path.startswith(COLLECTION + "/") and name in self.objects:
            if method == "PATCH":
                self.objects[name] = merge(self.objects[name], body)
            return 200, self.objects[name]
        return 404, {"kind": "Status", "code": 404, "reason": "NotFound"}


def merge(old: dict, patch: dict) -> dict:
    """JSON merge patch (RFC 7386)."""
    result = dict(old)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


@pytest.fixture(scope="module")
def kube():
    with FakeKubernetes() as fake:
        yield fake


def test_custom_runtime_manifest_serves_the_model_directory_with_our_image():
    isvc = build_inference_service("penguins", "models", "gs://bucket/registry/penguins/v3",
                                   serving_image="ghcr.io/kfp-mlops/kfp-mlops-serve:abc", canary_percent=10,
                                   labels={"kfp-mlops/version": "v3"})
    manifest = yaml.safe_load(to_yaml(isvc))
    assert manifest["apiVersion"] == "serving.kserve.io/v1beta1" and manifest["kind"] == "InferenceService"
    assert manifest["metadata"]["name"] == "penguins" and manifest["metadata"]["namespace"] == "models"
    assert manifest["metadata"]["labels"]["kfp-mlops/version"] == "v3"
    predictor = manifest["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 10 and predictor["minReplicas"] == 1
    container = predictor["containers"][0]
    assert container["name"] == "kserve-container"
    assert container["image"] == "ghcr.io/kfp-mlops/kfp-mlops-serve:abc"
    assert container["command"] == ["kfp-mlops", "serve"]
    assert container["args"][:2] == ["--model-dir", "/mnt/models"]
    assert {"name": "STORAGE_URI", "value": "gs://bucket/registry/penguins/v3"} in container["env"]
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}
    assert "maxReplicas" not in predictor and "model" not in predictor


def test_stock_sklearn_runtime_manifest_uses_the_model_spec():
    manifest = to_dict(build_inference_service("penguins", "models", "gs://b/m", runtime="sklearn"))
    model = manifest["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "sklearn"}
    assert model["storageUri"] == "gs://b/m" and model["protocolVersion"] == "v2"
    assert manifest["spec"]["predictor"]["canaryTrafficPercent"] == 100


@pytest.mark.parametrize("kwargs, field", [
    (dict(name="Penguins_1"), "name"), (dict(namespace=""), "namespace"), (dict(storage_uri=""), "storage_uri"),
    (dict(runtime="triton"), "runtime"), (dict(serving_image=""), "serving_image"),
    (dict(canary_percent=0), "canary_percent"), (dict(runtime="sklearn", framework="keras"), "keras"),
])
def test_bad_fields_are_named(kwargs, field):
    arguments = dict(name="penguins", namespace="models", storage_uri="gs://b/m", serving_image="img")
    arguments.update(kwargs)
    with pytest.raises(InputError, match=field):
        build_inference_service(**arguments)


def test_apply_creates_then_patches_then_promotes(kube):
    client = kubernetes_api_client(kube.url)
    first = build_inference_service("penguins", "models", "gs://b/v1", serving_image="img:1")
    assert apply_inference_service(first, client) == "created"
    method, path, body = kube.requests[-1]
    assert (method, path) == ("POST", COLLECTION)
    assert body == to_dict(first)
    second = build_inference_service("penguins", "models", "gs://b/v2", serving_image="img:2", canary_percent=10)
    assert apply_inference_service(second, client) == "patched"
    method, path, body = kube.requests[-1]
    assert (method, path) == ("PATCH", COLLECTION + "/penguins")
    assert kube.content_types[-1] == "application/merge-patch+json"
    assert body["spec"]["predictor"]["canaryTrafficPercent"] == 10
    stored = kube.objects["penguins"]["spec"]["predictor"]
    assert stored["containers"][0]["env"][0]["value"] == "gs://b/v2" and stored["canaryTrafficPercent"] == 10
    third = build_inference_service("penguins", "models", "gs://b/v3", serving_image="img:3")
    assert apply_inference_service(third, client) == "patched"
    assert kube.objects["penguins"]["spec"]["predictor"]["canaryTrafficPercent"] == 100  # the earlier 10 is gone
    set_canary_traffic("penguins", "models", 0, client)
    assert kube.objects["penguins"]["spec"]["predictor"]["canaryTrafficPercent"] == 0
    set_canary_traffic("penguins", "models", 100, client)
    assert kube.requests[-1][2] == {"spec": {"predictor": {"canaryTrafficPercent": 100}}}
    assert kube.objects["penguins"]["spec"]["predictor"]["canaryTrafficPercent"] == 100


def test_kfp_minio_artifact_uri_becomes_s3(penguin_model_dir, tmp_path):
    from kfp_mlops.components.deployment.kserve_manifest import deploy_inference_service

    outcome = deploy_inference_service(str(penguin_model_dir), str(tmp_path / "isvc.yaml"), "penguins", "models",
                                       "minio://mlpipeline/v2/artifacts/run/model", serving_image="img", apply=False)
    manifest = yaml.safe_load((tmp_path / "isvc.yaml").read_text())
    assert outcome == "written"
    assert manifest["spec"]["predictor"]["containers"][0]["env"][0]["value"] == "s3://mlpipeline/v2/artifacts/run/model"


def test_the_deploy_step_applies_a_payload_logger_pointing_at_the_sink(kube, penguin_model_dir, tmp_path):
    from kfp_mlops.components.deployment.kserve_manifest import deploy_inference_service

    sink = "http://payload-sink.models.svc.cluster.local"
    outcome = deploy_inference_service(str(penguin_model_dir), str(tmp_path / "isvc.yaml"), "logged", "models",
                                       "gs://b/v1", serving_image="img", kubernetes_host=kube.url, logger_url=sink)
    assert outcome == "created"
    assert kube.requests[-1][2]["spec"]["predictor"]["logger"] == {"mode": "all", "url": sink}
    assert kube.objects["logged"]["spec"]["predictor"]["logger"]["url"] == sink
