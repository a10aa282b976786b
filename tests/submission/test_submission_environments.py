"""Named environments: submit with --env, and promote a model dev -> staging -> prod by copying, with approval."""
import json

import pytest
import yaml

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.registry import open_registry
from kfp_mlops.pipelines.cli.main import main
from kfp_mlops.pipelines.environments import load_environments, promote_between


def _environments(tmp_path):
    spec = {"promotion": ["dev", "staging", "prod"], "environments": {
        name: {"target": "kfp", "host": f"http://{name}.kfp:8888", "registry_uri": str(tmp_path / f"registry-{name}"),
               "endpoint": f"penguins-{name}", "namespace": f"ml-{name}", "requires_approval": name == "prod"}
        for name in ("dev", "staging", "prod")}}
    path = tmp_path / "environments.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_the_example_file_loads():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "docs" / "environments.example.yaml"
    environments = load_environments(str(example))
    assert environments.promotion == ("dev", "staging", "prod")
    assert environments.get("prod").requires_approval and environments.get("dev").target == "vertex"
    assert environments.get("staging").submit_options()["project"] == "acme-ml-staging"


def test_a_model_moves_one_step_at_a_time_and_prod_needs_an_approver(tmp_path, penguins_model):
    path = _environments(tmp_path)
    environments = load_environments(str(path))
    dev = open_registry(str(tmp_path / "registry-dev"))
    registered = dev.register(str(penguins_model), "penguins", metrics={"accuracy": 0.97},
                              lineage={"git_commit": "abc123", "dataset_sha256": "d" * 64}, aliases=("champion",))
    with pytest.raises(InputError, match="'prod' requires an approval: pass --approved-by"):
        promote_between(environments, "penguins", "champion", "prod")
    with pytest.raises(InputError, match="'dev' is the first environment"):
        promote_between(environments, "penguins", "champion", "dev")
    staged = promote_between(environments, "penguins", "champion", "staging")
    assert staged.sha256 == registered.sha256 and staged.source == "dev"
    # prod comes from staging (the path), never straight from dev
    assert main(["promote", "penguins", "champion", "--to", "prod", "--approved-by", "ana@example.com",
                 "--reason", "quarterly release", "--environments", str(path)]) == 0
    prod = open_registry(str(tmp_path / "registry-prod")).get("penguins", "champion")
    assert prod.sha256 == registered.sha256 and prod.metrics == {"accuracy": 0.97}
    assert prod.lineage["git_commit"] == "abc123"  # the lineage travels with the copy
    first, second = prod.lineage["promotions"]
    assert (first["from_environment"], first["to_environment"], first["approved_by"]) == ("dev", "staging", None)
    assert (second["from_environment"], second["to_environment"]) == ("staging", "prod")
    assert second["approved_by"] == "ana@example.com" and second["approval_reason"] == "quarterly release"
    assert second["promoted_at"] and second["requested_by"]
    approval, move = open_registry(str(tmp_path / "registry-prod")).history("penguins")  # the audit trail
    assert (approval.action, approval.actor, approval.reason, approval.to_version) == (
        "approve", "ana@example.com", "quarterly release", "v1")
    assert (move.action, move.from_version, move.to_version, move.details["from_environment"]) == (
        "promote", "", "v1", "staging")


@pytest.mark.parametrize("text, message", [
    ("environments: {}\n", "expected a mapping with 'environments"),
    ("environments: {dev: {target: gke, registry_uri: r}}\n", r"environments\.dev\.target: expected one of"),
    ("environments: {dev: {target: kfp}}\n", r"environments\.dev\.registry_uri: required"),
    ("environments: {dev: {target: kfp, registry_uri: r, projcet: p}}\n", "unknown field 'projcet'"),
    ("promotion: [dev, qa]\nenvironments: {dev: {target: kfp, registry_uri: r}}\n", "promotion names 'qa'"),
])
def test_a_bad_environments_file_is_one_line(tmp_path, text, message):
    path = tmp_path / "environments.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_environments(str(path))


def test_submit_takes_the_target_and_its_options_from_the_environment(tmp_path, capsys, toy_package):
    path = _environments(tmp_path)
    code = main(["submit", str(toy_package), "--env", "staging", "--environments", str(path), "--dry-run",
                 "--param", "data_path=gs://b/d.csv"])
    out = capsys.readouterr().out
    assert code == 0, out
    sent = json.loads(out[out.index("{"):])
    assert sent["target"] == "kfp"
    assert main(["submit", str(toy_package), "--env", "staging", "--target", "vertex",
                 "--environments", str(path), "--dry-run"]) == 2
    assert "contradicts --env staging" in capsys.readouterr().err


def test_the_approver_of_a_cloud_build_build_is_read_from_its_approval():
    from google.auth.credentials import AnonymousCredentials
    from loopback import LoopbackJsonServer

    from kfp_mlops.pipelines.environments import cloud_build_approver

    class CloudBuild(LoopbackJsonServer):
        def route(self, method, path, query, body):
            approved = {"approval": {"state": "APPROVED", "result": {
                "decision": "APPROVED", "approverAccount": "lead@example.com", "approvalTime": "2026-12-02T07:00:00Z"}}}
            builds = {"/v1/projects/p/builds/b-ok": approved, "/v1/projects/p/builds/b-no": {"approval": {
                "state": "REJECTED", "result": {"decision": "REJECTED", "approverAccount": "lead@example.com"}}}}
            return (200, builds[path]) if path in builds else (404, {})

    with CloudBuild() as api:
        assert cloud_build_approver("p", "b-ok", api.url, AnonymousCredentials()) == "lead@example.com"
        with pytest.raises(InputError, match="build b-no was not approved"):
            cloud_build_approver("p", "b-no", api.url, AnonymousCredentials())
        with pytest.raises(InputError, match=r"cannot read Cloud Build build b-x \(404\)"):
            cloud_build_approver("p", "b-x", api.url, AnonymousCredentials())


def test_the_promotion_build_config_runs_the_promote_command_with_its_approval():
    from pathlib import Path

    from kfp_mlops.pipelines.cli.main import build_parser

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs" / "cloudbuild-promote.yaml").read_text())
    script = config["steps"][0]["args"][1]
    command = " ".join(script.split("kfp-mlops ", 1)[1].split())
    for name, value in {**config["substitutions"], "BUILD_ID": "b-1", "PROJECT_ID": "proj-1"}.items():
        command = command.replace("${" + name + "}", value).replace("$" + name, value)
    args = build_parser().parse_args(command.replace("\\ ", "").split())
    assert (args.model_name, args.version, args.to) == ("penguins", "champion", "prod")
    assert (args.approved_in_cloud_build, args.project) == ("b-1", "proj-1")


def test_promotion_into_a_vertex_registry_goes_through_aiplatform(tmp_path, monkeypatch, penguins_model):
    """dev (a registry on Cloud Storage FUSE) -> staging (Vertex AI Model Registry, loopback)."""
    import sys
    from pathlib import Path

    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    from kfp_mlops.components.registry import vertex as vertex_registry

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
    from vertex_models_loopback import FakeModelRegistry

    fuse = tmp_path / "gcs"
    monkeypatch.setattr(vertex_registry, "FUSE_PREFIX", f"{fuse}/")
    dev_registry = fuse / "acme-dev" / "registry"
    spec = {"promotion": ["dev", "staging"], "environments": {
        "dev": {"target": "vertex", "registry_uri": str(dev_registry)},
        "staging": {"target": "vertex", "registry_uri": "vertex://proj/us-central1"}}}
    path = tmp_path / "environments.yaml"
    path.write_text(yaml.safe_dump(spec))
    found = open_registry(str(dev_registry)).register(str(penguins_model), "penguins", metrics={"accuracy": 0.97},
                                                      lineage={"git_commit": "abc123"}, aliases=("champion",))
    with FakeModelRegistry() as fake:
        aiplatform.init(project="proj", location="us-central1", api_endpoint=fake.url, api_transport="rest",
                        credentials=AnonymousCredentials())
        promotion = promote_between(load_environments(str(path)), "penguins", "champion", "staging")
        [upload] = fake.calls("POST", r"models:upload$")
    sent = upload["model"]
    assert sent["artifactUri"] == "gs://acme-dev/registry/" + found.path.split("/registry/", 1)[1]
    assert "champion" in sent["versionAliases"] and promotion.sha256 == found.sha256
    recorded = json.loads(sent["versionDescription"])
    assert recorded["lineage"]["git_commit"] == "abc123"
    assert recorded["lineage"]["promotions"][0]["from_environment"] == "dev"
