"""Canary deployment to a Vertex AI Endpoint, through the real aiplatform library, against a loopback server."""
from __future__ import annotations

import pytest
from fake_vertex import FakeVertex
from google.auth.credentials import AnonymousCredentials

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.deployment.vertex import deploy_with_canary

ROW = {"island": "Biscoe", "bill_length_mm": 40.1, "bill_depth_mm": 18.0, "flipper_length_mm": 190.0,
       "body_mass_g": 3900.0, "sex": "male", "year": 2008}


@pytest.fixture(scope="module")
def vertex():
    with FakeVertex() as fake:
        yield fake


def deploy(fake, **kwargs):
    arguments = dict(project="proj", location="us-central1", endpoint_name="penguins", canary_percent=10,
                     health_instances=[ROW], health_requests=2, api_endpoint=fake.url,
                     credentials=AnonymousCredentials())
    arguments.update(kwargs)
    return deploy_with_canary(**arguments)


def test_first_deploy_uploads_creates_the_endpoint_and_takes_all_traffic(vertex):
    result = deploy(vertex, artifact_uri="gs://bucket/models/penguins/v1", serving_image="ghcr.io/x/kfp-mlops-serve:1")
    upload = vertex.calls("POST", r"models:upload$")[-1]["model"]
    assert upload["artifactUri"] == "gs://bucket/models/penguins/v1"
    assert upload["containerSpec"]["command"] == ["kfp-mlops", "serve", "--host", "0.0.0.0",
                                                       "--allow-unauthenticated"]
    assert upload["containerSpec"]["predictRoute"] == "/predict"
    assert upload["containerSpec"]["healthRoute"] == "/health"
    assert upload["containerSpec"]["ports"] == [{"containerPort": 8080}]
    assert vertex.calls("POST", r"/endpoints$")[-1]["displayName"] == "penguins"
    deployed = vertex.calls("POST", r":deployModel$")[-1]
    assert deployed["trafficSplit"] == {"0": 100}  # an empty endpoint: the first model takes everything
    assert deployed["deployedModel"]["dedicatedResources"]["machineSpec"]["machineType"] == "n1-standard-2"
    assert result.healthy and result.promoted
    assert result.traffic_split == {result.deployed_model_id: 100}
    assert len(vertex.calls("POST", r":predict$")) == 2


def test_canary_gets_ten_percent_then_is_promoted_and_the_old_model_undeployed(vertex):
    endpoint = next(iter(vertex.endpoints.values()))
    old_id = next(iter(endpoint["trafficSplit"]))
    model = vertex.add_model("penguins-v2")
    patches_before = len(vertex.calls("PATCH", r"/endpoints/"))
    result = deploy(vertex, model_resource_name=model)
    assert vertex.calls("POST", r":deployModel$")[-1]["trafficSplit"] == {old_id: 90, "0": 10}
    assert f"split {{'{old_id}': 90, '{result.deployed_model_id}': 10}}" in result.checks[1]
    patch = vertex.calls("PATCH", r"/endpoints/")[patches_before:]
    assert patch and patch[-1]["trafficSplit"] == {result.deployed_model_id: 100}
    undeploy = vertex.calls("POST", r":undeployModel$")[-1]
    assert undeploy["deployedModelId"] == old_id
    assert result.promoted and result.traffic_split == {result.deployed_model_id: 100}
    assert [m["id"] for m in endpoint["deployedModels"]] == [result.deployed_model_id]


def test_unhealthy_canary_is_rolled_back_and_the_split_restored(vertex):
    endpoint = next(iter(vertex.endpoints.values()))
    champion_id = next(iter(endpoint["trafficSplit"]))
    sick = vertex.add_model("penguins-broken")
    vertex.fail_predict_for.add(sick)
    result = deploy(vertex, model_resource_name=sick, canary_percent=25)
    assert vertex.calls("POST", r":deployModel$")[-1]["trafficSplit"] == {champion_id: 75, "0": 25}
    assert not result.healthy and not result.promoted
    assert any("health check: predict 1/2 failed" in line for line in result.checks)
    rollback = vertex.calls("POST", r":undeployModel$")[-1]
    assert rollback == {"deployedModelId": result.deployed_model_id, "trafficSplit": {champion_id: 100}}
    assert result.traffic_split == {champion_id: 100}
    assert [m["id"] for m in endpoint["deployedModels"]] == [champion_id]


def test_failed_deploy_leaves_the_endpoint_as_it_was(vertex):
    endpoint = next(iter(vertex.endpoints.values()))
    before = dict(endpoint["trafficSplit"])
    model = vertex.add_model("penguins-too-big")
    vertex.fail_deploy_for.add(model)
    undeploys = len(vertex.calls("POST", r":undeployModel$"))
    result = deploy(vertex, model_resource_name=model)
    assert not result.healthy and not result.promoted and result.deployed_model_id == ""
    assert any("deploy failed" in line and "quota" in line for line in result.checks)
    assert result.traffic_split == before == endpoint["trafficSplit"]
    assert len(vertex.calls("POST", r":undeployModel$")) == undeploys


def test_bad_arguments_are_input_errors(vertex):
    with pytest.raises(InputError, match="canary_percent"):
        deploy(vertex, model_resource_name="x", canary_percent=0)
    with pytest.raises(InputError, match="artifact_uri"):
        deploy(vertex)
    with pytest.raises(InputError, match="project"):
        deploy(vertex, project="", model_resource_name="x")


def test_a_new_endpoint_logs_requests_and_responses_to_bigquery():
    with FakeVertex() as fake:
        deploy(fake, endpoint_name="logged", artifact_uri="gs://b/m/v1", serving_image="img",
               log_sampling_rate=0.25, log_table="bq://proj.serving.penguins")
        created = fake.calls("POST", r"/endpoints$")[-1]
    assert created["predictRequestResponseLoggingConfig"] == {
        "enabled": True, "samplingRate": 0.25, "bigqueryDestination": {"outputUri": "bq://proj.serving.penguins"}}
    with pytest.raises(InputError, match="log_sampling_rate"):
        deploy(fake, log_sampling_rate=1.5, artifact_uri="gs://b/m/v1", serving_image="img")
