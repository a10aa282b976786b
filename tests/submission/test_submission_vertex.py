"""Vertex AI submission through the real aiplatform library against a loopback server."""
import pytest
import yaml

from kfp_mlops.pipelines.submission import submit, submit_vertex

P, L = "proj-1", "us-central1"


@pytest.fixture
def vertex(loopback, monkeypatch):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.aiplatform.utils import gcs_utils

    # The bucket check talks to the real GCS API and stalls ~97 s offline.
    monkeypatch.setattr(gcs_utils, "create_gcs_bucket_for_pipeline_artifacts_if_it_does_not_exist",
                        lambda **kw: None)
    monkeypatch.setenv("SHORT_SHA", "abc1234")

    def job(req):
        body = req.json()
        return {**body, "name": f"projects/{P}/locations/{L}/pipelineJobs/{req.query['pipelineJobId'][0]}",
                "state": "PIPELINE_STATE_RUNNING"}

    loopback.route("POST", f"/v1/projects/{P}/locations/{L}/pipelineJobs", (200, job))
    loopback.route("POST", f"/v1/projects/{P}/locations/{L}/schedules",
                   (200, lambda req: {**req.json(), "name": f"projects/{P}/locations/{L}/schedules/777"}))
    loopback.kw = {"project": P, "region": L, "api_endpoint": loopback.url, "credentials": AnonymousCredentials()}
    return loopback


def test_run_request_carries_spec_parameters_account_labels_and_caching(vertex, toy_package):
    result = submit_vertex(toy_package, pipeline_root="gs://bucket/root",
                           parameters={"data_path": "gs://d/x.csv", "epochs": "7", "options": {"a": 1}},
                           service_account="runner@proj-1.iam.gserviceaccount.com", enable_caching=False,
                           labels={"Team": "ML Ops"}, **vertex.kw)
    [req] = vertex.find("POST", "pipelineJobs")
    body = req.json()
    assert req.query["pipelineJobId"][0].startswith("toy-abc1234-")
    assert body["pipelineSpec"]["pipelineInfo"]["name"] == "toy"
    compiled = yaml.safe_load(toy_package.read_text())
    assert body["pipelineSpec"]["root"]["inputDefinitions"] == compiled["root"]["inputDefinitions"]
    assert body["pipelineSpec"]["deploymentSpec"] == compiled["deploymentSpec"]
    assert body["runtimeConfig"]["gcsOutputDirectory"] == "gs://bucket/root"
    assert body["runtimeConfig"]["parameterValues"] == {"data_path": "gs://d/x.csv", "epochs": 7, "options": {"a": 1}}
    assert body["serviceAccount"] == "runner@proj-1.iam.gserviceaccount.com"
    assert body["labels"]["git-commit"] == "abc1234"
    assert body["labels"]["pipeline-version"].startswith("0-1-0-")  # package version + template sha
    assert body["labels"]["team"] == "ml-ops"
    tasks = body["pipelineSpec"]["root"]["dag"]["tasks"]
    assert all(task["cachingOptions"].get("enableCache") is False for task in tasks.values())
    assert result.run_name == f"projects/{P}/locations/{L}/pipelineJobs/{req.query['pipelineJobId'][0]}"
    assert result.labels == body["labels"]


def test_caching_left_on_by_default(vertex, toy_package):
    submit_vertex(toy_package, pipeline_root="gs://b/r", parameters={"data_path": "x"}, **vertex.kw)
    tasks = vertex.find("POST", "pipelineJobs")[0].json()["pipelineSpec"]["root"]["dag"]["tasks"]
    assert all(task["cachingOptions"].get("enableCache") is True for task in tasks.values())


def test_schedule_creates_a_schedule_with_the_cron_and_the_run_request(vertex, toy_package):
    result = submit_vertex(toy_package, pipeline_root="gs://b/r", parameters={"data_path": "x"},
                           schedule="TZ=Europe/Paris 0 3 * * 1", service_account="sa@p.iam.gserviceaccount.com",
                           **vertex.kw)
    assert vertex.find("POST", "pipelineJobs") == []
    [req] = vertex.find("POST", "schedules")
    body = req.json()
    assert body["cron"] == "TZ=Europe/Paris 0 3 * * 1"
    job = body["createPipelineJobRequest"]["pipelineJob"]
    assert job["runtimeConfig"]["parameterValues"] == {"data_path": "x"}
    assert job["serviceAccount"] == "sa@p.iam.gserviceaccount.com"
    assert job["labels"]["git-commit"] == "abc1234"
    assert result.schedule_name.endswith("/schedules/777") and result.run_name is None


def test_transient_503_is_retried_with_the_same_job_id(vertex, toy_package, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    ok = vertex.routes[("POST", f"/v1/projects/{P}/locations/{L}/pipelineJobs")][0]
    vertex.route("POST", f"/v1/projects/{P}/locations/{L}/pipelineJobs",
                 (503, {"error": {"code": 503, "message": "unavailable", "status": "UNAVAILABLE"}}), ok)
    result = submit_vertex(toy_package, pipeline_root="gs://b/r", parameters={"data_path": "x"}, **vertex.kw)
    first, second = vertex.find("POST", "pipelineJobs")
    assert first.query["pipelineJobId"] == second.query["pipelineJobId"]
    assert result.run_name.endswith(second.query["pipelineJobId"][0])


def test_permission_denied_is_not_retried(vertex, toy_package, monkeypatch):
    from google.api_core import exceptions

    from kfp_mlops.pipelines.submission.retry import AuthError

    monkeypatch.setattr("time.sleep", lambda s: pytest.fail("auth errors must not be retried"))
    vertex.route("POST", f"/v1/projects/{P}/locations/{L}/pipelineJobs",
                 (403, {"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}))
    with pytest.raises(AuthError, match=r"HTTP 403 .*not retried$") as raised:
        submit_vertex(toy_package, pipeline_root="gs://b/r", parameters={"data_path": "x"}, **vertex.kw)
    assert isinstance(raised.value.__cause__, exceptions.Forbidden) and "\n" not in str(raised.value)
    assert len(vertex.find("POST", "pipelineJobs")) == 1


def test_typo_in_a_parameter_fails_before_any_request(vertex, toy_package):
    with pytest.raises(ValueError, match=r"no parameter 'epoch'.*valid parameters: data_path, epochs"):
        submit_vertex(toy_package, pipeline_root="gs://b/r", parameters={"data_path": "x", "epoch": 3}, **vertex.kw)
    with pytest.raises(ValueError, match="needs parameter"):
        submit_vertex(toy_package, pipeline_root="gs://b/r", parameters={}, **vertex.kw)
    assert vertex.requests == []


def test_dispatcher_sends_a_compiled_file(vertex, toy_package):
    result = submit(str(toy_package), "vertex", parameters={"data_path": "x"}, pipeline_root="gs://b/r", **vertex.kw)
    assert result.target == "vertex" and len(vertex.find("POST", "pipelineJobs")) == 1
    with pytest.raises(ValueError, match="needs: pipeline_root"):
        submit(str(toy_package), "vertex", parameters={"data_path": "x"}, **vertex.kw)


@pytest.mark.parametrize("state, ok", [("PIPELINE_STATE_SUCCEEDED", True), ("PIPELINE_STATE_FAILED", False)])
def test_wait_polls_the_run_until_it_ends(vertex, toy_package, monkeypatch, state, ok):
    monkeypatch.setattr("time.sleep", lambda s: None)
    vertex.route("GET", f"/v1/projects/{P}/locations/{L}/pipelineJobs/",
                 (200, lambda req: {"name": req.path[len("/v1/"):], "state": "PIPELINE_STATE_RUNNING"}),
                 (200, lambda req: {"name": req.path[len("/v1/"):], "state": state}))
    if ok:
        result = submit_vertex(toy_package, pipeline_root="gs://b/r", parameters={"data_path": "x"}, wait=True,
                               **vertex.kw)
        assert result.state == "PIPELINE_STATE_SUCCEEDED"
    else:
        with pytest.raises(RuntimeError, match="ended in PIPELINE_STATE_FAILED"):
            submit_vertex(toy_package, pipeline_root="gs://b/r", parameters={"data_path": "x"}, wait=True,
                          **vertex.kw)
    assert len(vertex.find("GET", "pipelineJobs/")) >= 2


def test_a_lost_reply_then_409_takes_the_existing_job(vertex, toy_package, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    vertex.route("POST", f"/v1/projects/{P}/locations/{L}/pipelineJobs",
                 (503, {"error": {"code": 503, "message": "unavailable", "status": "UNAVAILABLE"}}),
                 (409, {"error": {"code": 409, "message": "exists", "status": "ALREADY_EXISTS"}}))
    vertex.route("GET", f"/v1/projects/{P}/locations/{L}/pipelineJobs/",
                 (200, lambda req: {"name": req.path[len("/v1/"):], "state": "PIPELINE_STATE_RUNNING"}))
    result = submit_vertex(toy_package, pipeline_root="gs://b/r", parameters={"data_path": "x"}, **vertex.kw)
    [get] = vertex.find("GET", "pipelineJobs/")
    assert len(vertex.find("POST", "pipelineJobs")) == 2
    assert result.run_name == get.path[len("/v1/"):]


def test_a_kfp_compiled_file_is_refused_for_vertex(vertex, toy_package, tmp_path):
    two_docs = tmp_path / "kfp.yaml"
    two_docs.write_text(toy_package.read_text() + "---\nplatforms:\n  kubernetes: {}\n")
    with pytest.raises(ValueError, match="compile with --target vertex"):
        submit_vertex(two_docs, pipeline_root="gs://b/r", parameters={"data_path": "x"}, **vertex.kw)
    assert vertex.requests == []
