"""The Vertex AI Model Registry backend, with the real aiplatform client against a loopback server."""
from __future__ import annotations

import json
import shutil

import pytest
from registry_models import make_model
from vertex_models_loopback import FakeModelRegistry

from kfp_mlops.components.core.artifacts import sha256_tree
from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.registry import open_registry
from kfp_mlops.components.registry.vertex import to_fuse_path, to_gcs_uri


@pytest.fixture
def vertex():
    from google.auth.credentials import AnonymousCredentials

    with FakeModelRegistry() as fake:
        registry = open_registry("vertex://proj/us-central1", api_endpoint=fake.url, api_transport="rest",
                                 credentials=AnonymousCredentials(), serving_image="us-docker.pkg.dev/p/r/serve:1")
        yield fake, registry


def test_upload_request_and_new_versions_under_the_parent(tmp_path, vertex):
    fake, registry = vertex
    model = make_model(tmp_path / "m0")
    first = registry.register(str(model), "iris", {"accuracy": 0.95}, {"pipeline_run_id": "run-7"},
                              artifact_uri="gs://bucket/runs/7/model")
    [upload] = fake.calls("POST", r"models:upload$")
    sent = upload["model"]
    assert sent["displayName"] == "iris" and sent["artifactUri"] == "gs://bucket/runs/7/model"
    assert sent["containerSpec"]["imageUri"] == "us-docker.pkg.dev/p/r/serve:1"
    assert set(sent["versionAliases"]) == {"challenger", "default"}  # the first version is Vertex's default
    assert "parentModel" not in upload
    recorded = json.loads(sent["versionDescription"])
    assert recorded["sha256"] == sha256_tree(model) == sent["labels"]["kfp-mlops-sha256"] + recorded["sha256"][63:]
    assert recorded["metrics"] == {"accuracy": 0.95} and recorded["lineage"]["pipeline_run_id"] == "run-7"
    assert first.version == "v1" and first.resource_name.endswith("@1")

    second = registry.register(str(make_model(tmp_path / "m1", seed=1)), "iris", artifact_uri="gs://bucket/runs/8/model")
    upload = fake.calls("POST", r"models:upload$")[-1]
    assert upload["parentModel"] == first.resource_name.split("@")[0]  # a new version, not a new model
    assert upload["model"]["versionAliases"] == ["challenger"]
    assert second.version == "v2"
    assert [v.version for v in registry.list("iris")] == ["v1", "v2"]
    assert registry.get("iris", "challenger").version == "v2"  # the alias moved
    assert registry.get("iris", "v1").metrics == {"accuracy": 0.95}


def test_same_files_are_not_uploaded_twice(tmp_path, vertex):
    fake, registry = vertex
    model = make_model(tmp_path / "m0")
    registry.register(str(model), "iris", artifact_uri="gs://bucket/a")
    again = registry.register(str(model), "iris", aliases=["challenger", "staging"], artifact_uri="gs://bucket/b")
    assert again.version == "v1" and "staging" in again.aliases
    assert len(fake.calls("POST", r"models:upload$")) == 1
    assert fake.calls("POST", r"mergeVersionAliases$") == [{"versionAliases": ["staging"]}]


def test_promote_rollback_and_sha256_checked_load(tmp_path, vertex, monkeypatch):
    fake, registry = vertex
    for seed in range(2):
        registry.register(str(make_model(tmp_path / "gcs" / "bucket" / f"m{seed}", seed)), "iris",
                          artifact_uri=f"gs://bucket/m{seed}")
    registry.promote("iris", "v1")
    assert registry.promote("iris", "v2").aliases == ["challenger", "champion"]
    assert registry.get("iris", "previous-champion").version == "v1"
    assert registry.rollback("iris").version == "v1"
    assert registry.get("iris").version == "v1"
    with pytest.raises(InputError, match="no previous champion"):
        registry.rollback("iris")
    # Loading reads the Cloud Storage FUSE path; point /gcs/ at a local folder for the test.
    monkeypatch.setattr("kfp_mlops.components.registry.vertex.FUSE_PREFIX", str(tmp_path / "gcs") + "/")
    assert registry.load("iris", "champion").contract.label == "target"
    shutil.copy(tmp_path / "gcs" / "bucket" / "m1" / "model.skops", tmp_path / "gcs" / "bucket" / "m0" / "model.skops")
    with pytest.raises(InputError, match="sha256 mismatch"):
        registry.load("iris", "champion")


def test_errors_and_paths(tmp_path, vertex):
    registry = vertex[1]
    with pytest.raises(InputError, match="'iris' is not in the Vertex registry"):
        registry.get("iris")
    with pytest.raises(InputError, match="Cloud Storage"):
        registry.register(str(make_model(tmp_path / "m0")), "iris")
    assert to_gcs_uri("/gcs/bucket/x/") == "gs://bucket/x" and to_fuse_path("gs://bucket/x") == "/gcs/bucket/x"


def test_list_every_model(tmp_path, vertex):
    registry = vertex[1]
    registry.register(str(make_model(tmp_path / "a")), "iris", artifact_uri="gs://bucket/a")
    registry.register(str(make_model(tmp_path / "b", seed=1)), "flowers", artifact_uri="gs://bucket/b")
    assert [(v.name, v.version) for v in registry.list()] == [("flowers", "v1"), ("iris", "v1")]


def test_promotions_and_rollbacks_are_recorded_in_the_models_description(tmp_path, vertex, monkeypatch):
    fake, registry = vertex
    monkeypatch.setenv("KFP_MLOPS_ACTOR", "ci@proj.iam.gserviceaccount.com")
    for seed in range(2):
        registry.register(str(make_model(tmp_path / f"m{seed}", seed)), "iris", artifact_uri=f"gs://bucket/m{seed}")
    registry.promote("iris", "v1", reason="first model")
    registry.promote("iris", "v2", reason="accuracy 0.97 beats champion 0.95")
    registry.rollback("iris", reason="latency regression")
    registry.approve("iris", "v2", "ana@example.com", reason="Q4 release")
    history = registry.history("iris")
    assert [(e.action, e.from_version, e.to_version) for e in history] == [
        ("promote", "", "v1"), ("promote", "v1", "v2"), ("rollback", "v2", "v1"), ("approve", "v1", "v2")]
    assert history[1].reason == "accuracy 0.97 beats champion 0.95"
    assert {e.actor for e in history[:3]} == {"ci@proj.iam.gserviceaccount.com"} and history[3].actor == "ana@example.com"
    [patch] = fake.calls("PATCH", r"models/\d+$")[-1:]
    assert json.loads(patch["description"])["kfp_mlops_audit"][-1]["action"] == "approve"
