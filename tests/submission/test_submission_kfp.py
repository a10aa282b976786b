"""KFP submission through the real kfp.Client, and template upload through RegistryClient, on loopback."""

import pytest
from kfp.registry import ApiAuth

from kfp_mlops.pipelines.submission import submit, submit_kfp, upload_template


def unwrap(body):
    """kfp.Client sends {pipeline_spec, platform_spec} when a platform spec exists: lift them to the top."""
    spec = body["pipeline_spec"]
    if "platform_spec" in spec:
        body = {**body, "pipeline_spec": spec["pipeline_spec"], "platform_spec": spec["platform_spec"]}
    return body


@pytest.fixture
def kfp_host(loopback, monkeypatch):
    monkeypatch.setenv("SHORT_SHA", "abc1234")
    monkeypatch.setattr("time.sleep", lambda s: None)
    loopback.route("GET", "/apis/v2beta1/healthz", (200, {"multi_user": False}))
    loopback.route("GET", "/apis/v2beta1/experiments", (200, {}))
    loopback.route("POST", "/apis/v2beta1/experiments", (200, {"experiment_id": "exp-1"}))
    loopback.route("POST", "/apis/v2beta1/runs", (200, {"run_id": "run-1"}))
    loopback.route("POST", "/apis/v2beta1/recurringruns", (200, {"recurring_run_id": "rr-1"}))
    return loopback


def test_run_request_carries_spec_parameters_account_labels_and_caching(kfp_host, toy_package):
    result = submit_kfp(toy_package, kfp_host.url, parameters={"data_path": "/d.csv", "flag": "false"},
                        experiment="nightly", enable_caching=False, service_account="pipeline-runner")
    [experiment] = kfp_host.find("POST", "/experiments")
    assert experiment.json()["display_name"] == "nightly"
    [req] = kfp_host.find("POST", "/runs")
    body = unwrap(req.json())
    assert body["experiment_id"] == "exp-1"
    assert body["pipeline_spec"]["pipelineInfo"]["name"] == "toy"
    assert body["runtime_config"]["parameters"] == {"data_path": "/d.csv", "flag": False}
    assert body["service_account"] == "pipeline-runner"
    assert "git-commit=abc1234" in body["description"] and "pipeline-version=0-1-0-" in body["description"]
    assert body["display_name"].startswith("toy abc1234 ")
    # the same labels on every task's pod, through the Kubernetes platform spec
    platform = body["platform_spec"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert set(platform) == set(body["pipeline_spec"]["deploymentSpec"]["executors"])
    assert all(e["podMetadata"]["labels"]["git-commit"] == "abc1234" for e in platform.values())
    tasks = body["pipeline_spec"]["root"]["dag"]["tasks"]
    # protobuf JSON leaves out a false enableCache; the compiled default is true
    assert tasks and all(task["cachingOptions"].get("enableCache", False) is False for task in tasks.values())
    assert result.run_name == "run-1" and result.url == f"{kfp_host.url}/#/runs/details/run-1"


def test_schedule_creates_a_recurring_run_with_a_seconds_field(kfp_host, toy_package):
    result = submit_kfp(toy_package, kfp_host.url, parameters={"data_path": "/d.csv"}, schedule="0 3 * * 1")
    assert kfp_host.find("POST", "/runs") == []
    [req] = kfp_host.find("POST", "/recurringruns")
    body = unwrap(req.json())
    assert body["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * 1"
    assert body["runtime_config"]["parameters"] == {"data_path": "/d.csv"}
    assert "git-commit=abc1234" in body["description"]
    assert body["mode"] == "ENABLE" and result.schedule_name == "rr-1"
    tasks = body["pipeline_spec"]["root"]["dag"]["tasks"]
    assert all(task["cachingOptions"]["enableCache"] is True for task in tasks.values())


def test_transient_503_is_retried_then_succeeds(kfp_host, toy_package):
    kfp_host.route("POST", "/apis/v2beta1/runs", (503, {"error": "unavailable"}), (200, {"run_id": "run-2"}))
    result = submit_kfp(toy_package, kfp_host.url, parameters={"data_path": "x"})
    assert len(kfp_host.find("POST", "/runs")) == 2 and result.run_name == "run-2"


def test_forbidden_is_not_retried(kfp_host, toy_package):
    from kfp_mlops.pipelines.submission.retry import AuthError

    kfp_host.route("POST", "/apis/v2beta1/runs", (403, {"error": "forbidden"}))
    with pytest.raises(AuthError, match=r"^submit KFP run: the host answered HTTP 403 .*not retried$") as raised:
        submit_kfp(toy_package, kfp_host.url, parameters={"data_path": "x"})
    assert raised.value.status == 403 and len(kfp_host.find("POST", "/runs")) == 1


def test_bad_parameter_type_fails_before_any_request(kfp_host, toy_package):
    with pytest.raises(ValueError, match=r"'epochs' is NUMBER_INTEGER; cannot use 'three'"):
        submit_kfp(toy_package, kfp_host.url, parameters={"data_path": "x", "epochs": "three"})
    with pytest.raises(ValueError, match=r"'flag' is BOOLEAN; got int"):
        submit_kfp(toy_package, kfp_host.url, parameters={"data_path": "x", "flag": 1})
    assert kfp_host.requests == []


def test_dispatcher_routes_kfp_and_requires_a_host(kfp_host, toy_package):
    assert submit(toy_package, "kfp", parameters={"data_path": "x"}, host=kfp_host.url).run_name == "run-1"
    with pytest.raises(ValueError, match="needs: host"):
        submit(toy_package, "kfp", parameters={"data_path": "x"})
    with pytest.raises(ValueError, match="unknown target"):
        submit(toy_package, "sagemaker")


def test_upload_template_sends_the_file_and_tags(loopback, toy_package):
    loopback.route("POST", "/proj/repo", (200, "toy/sha256:" + "a" * 64))
    name, version = upload_template(toy_package, f"{loopback.url}/proj/repo", tags=["abc1234", "latest"],
                                    auth=ApiAuth("test-token"))
    [req] = loopback.find("POST", "/proj/repo")
    assert req.headers["authorization"] == "Bearer test-token"
    assert b'name="tags"' in req.body and b"abc1234,latest" in req.body
    assert toy_package.read_bytes() in req.body
    assert (name, version) == ("toy", "sha256:" + "a" * 64)


def test_upload_retries_503(loopback, toy_package, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    loopback.route("POST", "/proj/repo", (503, "busy"), (200, "toy/sha256:" + "b" * 64))
    assert upload_template(toy_package, f"{loopback.url}/proj/repo", tags=["x"], auth=ApiAuth("t"))[0] == "toy"
    assert len(loopback.find("POST", "/proj/repo")) == 2


def test_a_pipeline_name_is_compiled_with_the_image_tag_and_submitted(kfp_host):
    """What retraining does: the real training pipeline, by name, compiled on the fly, sent through kfp.Client."""
    result = submit("training", "kfp", parameters={"data_path": "gs://b/window.csv", "label": "species",
                                                   "model_name": "penguins", "registry_uri": "gs://b/registry"},
                    host=kfp_host.url, image_tag="abc1234", experiment="retraining")
    assert result.run_name == "run-1" and result.pipeline == "training"
    body = unwrap(kfp_host.find("POST", "/runs")[0].json())
    assert body["pipeline_spec"]["pipelineInfo"]["name"] == "training"
    assert body["runtime_config"]["parameters"]["model_name"] == "penguins"
    executors = body["pipeline_spec"]["deploymentSpec"]["executors"].values()
    images = {e["container"]["image"] for e in executors if "container" in e}
    assert images and all(i.endswith(":abc1234") for i in images if "kfp-mlops-" in i)
    assert kfp_host.find("POST", "/experiments")[0].json()["display_name"] == "retraining"


@pytest.mark.parametrize("state", ["SUCCEEDED", "FAILED"])
def test_wait_polls_the_run(kfp_host, toy_package, state):
    kfp_host.route("GET", "/apis/v2beta1/runs/run-1", (200, {"run_id": "run-1", "state": "RUNNING"}),
                   (200, {"run_id": "run-1", "state": state}))
    if state == "SUCCEEDED":
        assert submit_kfp(toy_package, kfp_host.url, parameters={"data_path": "x"}, wait=True).state == "SUCCEEDED"
    else:
        with pytest.raises(RuntimeError, match="ended in FAILED"):
            submit_kfp(toy_package, kfp_host.url, parameters={"data_path": "x"}, wait=True)
    assert len(kfp_host.find("GET", "/runs/run-1")) == 2
    with pytest.raises(ValueError, match="cannot be combined"):
        submit_kfp(toy_package, kfp_host.url, parameters={"data_path": "x"}, wait=True, schedule="0 1 * * *")


def test_pod_labels_merge_into_an_existing_platform_spec_and_parse_strictly(tmp_path):
    import yaml
    from google.protobuf import json_format
    from kfp import compiler, dsl, kubernetes
    from kfp.kubernetes import kubernetes_executor_config_pb2 as k8s
    from kfp.pipeline_spec import pipeline_spec_pb2

    from kfp_mlops.pipelines.submission.kfp_host import with_pod_labels

    @dsl.component(base_image="python:3.11")
    def hello() -> str:
        return "hi"

    @dsl.pipeline(name="gpu-ish")
    def pipe():
        kubernetes.add_node_selector(hello(), "cloud.google.com/gke-accelerator", "nvidia-l4")

    compiled = tmp_path / "p.yaml"
    compiler.Compiler().compile(pipe, str(compiled))
    out = with_pod_labels(compiled, {"git-commit": "abc1234"}, tmp_path / "out")
    spec, platform = list(yaml.safe_load_all(out.read_text()))
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())
    executor = json_format.ParseDict(platform, pipeline_spec_pb2.PlatformSpec()).platforms["kubernetes"] \
        .deployment_spec.executors["exec-hello"]
    config = json_format.ParseDict(json_format.MessageToDict(executor), k8s.KubernetesExecutorConfig())
    assert config.pod_metadata.labels["git-commit"] == "abc1234"
    assert config.node_selector.labels["cloud.google.com/gke-accelerator"] == "nvidia-l4"  # kept
