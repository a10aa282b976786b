"""`apply` to environments on Vertex AI and Kubeflow: the real aiplatform and kfp clients, on a loopback server."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from kfp_mlops.pipelines.project import apply_project, load_project, make_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "submission"))
from submission_loopback import start  # noqa: E402

P, L = "proj-1", "us-central1"


@pytest.fixture
def api(monkeypatch):
    from google.cloud.aiplatform.utils import gcs_utils

    # The bucket check talks to the real GCS API and stalls ~97 s offline.
    monkeypatch.setattr(gcs_utils, "create_gcs_bucket_for_pipeline_artifacts_if_it_does_not_exist",
                        lambda **kw: None)
    monkeypatch.setenv("SHORT_SHA", "abc1234")
    loop = start()
    jobs = f"/v1/projects/{P}/locations/{L}"
    loop.route("POST", f"{jobs}/pipelineJobs", (200, lambda req: {
        **req.json(), "name": f"projects/{P}/locations/{L}/pipelineJobs/{req.query['pipelineJobId'][0]}"}))
    count = iter(range(1, 100))
    loop.route("POST", f"{jobs}/schedules", (200, lambda req: {
        **req.json(), "name": f"projects/{P}/locations/{L}/schedules/{next(count)}"}))
    loop.route("GET", "/apis/v2beta1/healthz", (200, {"multi_user": False}))
    loop.route("GET", "/apis/v2beta1/experiments", (200, {}))
    loop.route("POST", "/apis/v2beta1/experiments", (200, {"experiment_id": "exp-1"}))
    loop.route("POST", "/apis/v2beta1/runs", (200, {"run_id": "run-1"}))
    loop.route("POST", "/apis/v2beta1/recurringruns", (200, lambda req: {"recurring_run_id": f"rr-{len(loop.requests)}"}))
    yield loop
    loop.server.shutdown()
    loop.server.server_close()


def _project(tmp_path: Path, api, monitoring_cron: str = "0 * * * *") -> Path:
    environments = {"environments": {
        "dev": {"target": "vertex", "project": P, "region": L, "pipeline_root": "gs://acme-dev/root",
                "registry_uri": f"vertex://{P}/{L}", "endpoint": "fleet-dev",
                "service_account": f"pipelines@{P}.iam.gserviceaccount.com"},
        "lab": {"target": "kfp", "host": api.url, "registry_uri": "/mnt/registry",
                "pipeline_root": "minio://mlpipeline/root"}}}
    (tmp_path / "environments.yaml").write_text(yaml.safe_dump(environments))
    project = {"project": "remote-fleet", "environments_file": "environments.yaml", "models": [
        {"name": "penguins", "data": {"source": "gs://acme-dev/data/penguins.csv", "label": "species"},
         "environments": ["dev", "lab"], "gate": {"thresholds": {"accuracy": 0.9}},
         "training": {"schedule": "0 3 * * 1"},
         "monitoring": {"schedule": monitoring_cron, "serving_data": "gs://acme-dev/serving/", "drift_threshold": 0.2}},
        {"name": "diabetes", "data": {"source": "gs://acme-dev/data/diabetes.csv", "label": "target"},
         "trainer": {"estimator": "random_forest"}, "environments": ["dev"]}]}
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(project, sort_keys=False))
    return path


def _options(api):
    from google.auth.credentials import AnonymousCredentials

    return {"image_tag": "abc1234", "vertex": {"api_endpoint": api.url, "credentials": AnonymousCredentials()}}


def test_apply_submits_runs_and_schedules_once_and_only_what_changed(tmp_path, api):
    path = _project(tmp_path, api)
    plan, outcomes = apply_project(load_project(path), _options(api), log=lambda line: None)
    assert [(o.key, o.succeeded) for o in outcomes] == [("penguins@dev", True), ("penguins@lab", True),
                                                        ("diabetes@dev", True)], [o.message for o in outcomes]
    runs = [r.json() for r in api.find("POST", "/pipelineJobs")]
    assert len(runs) == 2
    penguins = next(r for r in runs if r["labels"]["kfp-mlops-model"] == "penguins")
    values = penguins["runtimeConfig"]["parameterValues"]
    assert values["data_path"] == "gs://acme-dev/data/penguins.csv" and values["registry_uri"] == f"vertex://{P}/{L}"
    assert values["thresholds"] == {"accuracy": 0.9} and values["endpoint_name"] == "fleet-dev"
    assert penguins["serviceAccount"] == f"pipelines@{P}.iam.gserviceaccount.com"
    assert penguins["labels"]["kfp-mlops-deployment"] == "dev"
    assert {r.query["pipelineJobId"][0].rsplit("-", 1)[0] for r in api.find("POST", "/pipelineJobs")} == {
        "training-penguins-dev-abc1234", "training-diabetes-dev-abc1234"}  # distinct even within one second
    schedules = [r.json() for r in api.find("POST", "/schedules")]
    assert sorted(s["cron"] for s in schedules) == ["0 * * * *", "0 3 * * 1"]
    monitoring = next(s for s in schedules if s["cron"] == "0 * * * *")["createPipelineJobRequest"]["pipelineJob"]
    assert monitoring["pipelineSpec"]["pipelineInfo"]["name"] == "monitoring"
    assert monitoring["runtimeConfig"]["parameterValues"]["serving_data"] == "gs://acme-dev/serving/"
    assert monitoring["runtimeConfig"]["parameterValues"]["drift_threshold"] == 0.2
    assert len(api.find("POST", "/apis/v2beta1/runs")) == 1 and len(api.find("POST", "/recurringruns")) == 2
    assert [c.action for c in make_plan(load_project(path)).changes] == ["unchanged"] * 3

    sent = len(api.requests)
    _, outcomes = apply_project(load_project(path), _options(api), log=lambda line: None)
    assert outcomes == [] and len(api.requests) == sent  # a second apply with no change sends nothing

    path = _project(tmp_path, api, monitoring_cron="*/30 * * * *")  # only the monitoring schedule changes
    _, outcomes = apply_project(load_project(path), _options(api), log=lambda line: None)
    assert [(o.key, o.action) for o in outcomes] == [("penguins@dev", "schedule"), ("penguins@lab", "schedule")]
    assert "the previous monitoring schedule projects/proj-1/locations/us-central1/schedules/" in outcomes[0].message
    assert len(api.find("POST", "/pipelineJobs")) == 2 and len(api.find("POST", "/apis/v2beta1/runs")) == 1
    assert [s.json()["cron"] for s in api.find("POST", "/schedules")][-1] == "*/30 * * * *"
    assert plan.state.read()["penguins@dev"]["schedules"]["monitoring"] == "*/30 * * * *"


def test_a_failed_submission_is_reported_and_planned_again(tmp_path, api):
    api.route("POST", f"/v1/projects/{P}/locations/{L}/pipelineJobs", (403, {"error": {
        "code": 403, "message": "Permission denied on pipelineJobs.create", "status": "PERMISSION_DENIED"}}))
    path = _project(tmp_path, api)
    _, outcomes = apply_project(load_project(path), _options(api), log=lambda line: None, only=["diabetes"])
    [failed] = outcomes
    assert not failed.succeeded and "HTTP 403 Forbidden" in failed.message and "\n" not in failed.message
    assert [c.action for c in make_plan(load_project(path)).changes] == ["create"] * 3
