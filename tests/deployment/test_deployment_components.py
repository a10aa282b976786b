"""The deployment components: python_func with real kfp.dsl artifacts, and compilation into a pipeline."""
import json
from pathlib import Path

import pytest
import yaml
from fake_vertex import FakeVertex
from kfp import compiler, dsl
from kfp.dsl import Artifact, Dataset, Model

from kfp_mlops.components.deployment import component as c
from kfp_mlops.components.serving.component import infra_validate

pytestmark = pytest.mark.filterwarnings("ignore:ORJSONResponse is deprecated")


def _artifact(kind, path, uri: str = ""):
    """A kfp artifact read and written at ``path``; ``uri`` plays the remote (gs://) location."""
    artifact = kind(uri=uri or str(path))
    artifact.custom_path = str(path)
    return artifact


def test_infra_validate_component_passes_a_good_candidate(penguin_model_dir, eval_csv, tmp_path):
    report = _artifact(Artifact, tmp_path / "report.json")
    passed = infra_validate.python_func(model=_artifact(Model, penguin_model_dir),
                                          examples=_artifact(Dataset, eval_csv), label="species",
                                          report=report, max_examples=10)
    assert passed is True
    assert json.loads(Path(report.path).read_text())["rows"] == 10
    assert report.metadata["passed"] is True


def test_deploy_kserve_component_writes_the_manifest(penguin_model_dir, tmp_path):
    manifest = _artifact(Artifact, tmp_path / "isvc.yaml")
    outcome = c.deploy_kserve.python_func(
        name="penguins", namespace="models", model=_artifact(Model, penguin_model_dir, "gs://b/pipeline/model"),
        serving_image="ghcr.io/kfp-mlops/kfp-mlops-serve:1", manifest=manifest, canary_percent=20, apply=False)
    assert outcome == "written"
    body = yaml.safe_load(Path(manifest.path).read_text())
    assert body["spec"]["predictor"]["canaryTrafficPercent"] == 20
    assert body["spec"]["predictor"]["containers"][0]["env"][0]["value"] == "gs://b/pipeline/model"
    assert body["metadata"]["labels"]["kfp-mlops/framework"] == "sklearn"


def test_deploy_vertex_component_promotes_a_healthy_canary(penguin_model_dir, eval_csv, tmp_path):
    deployment = _artifact(Artifact, tmp_path / "deployment.json")
    with FakeVertex() as vertex:
        promoted = c.deploy_vertex_endpoint.python_func(
            project="proj", location="us-central1", endpoint_name="penguins",
            model=_artifact(Model, penguin_model_dir, "gs://b/pipeline/model"), examples=_artifact(Dataset, eval_csv),
            label="species", serving_image="img", deployment=deployment, health_requests=1, api_endpoint=vertex.url)
        health = vertex.calls("POST", r":predict$")[-1]["instances"]
    assert promoted is True
    outcome = json.loads(Path(deployment.path).read_text())
    assert outcome["promoted"] and outcome["traffic_split"] == {outcome["deployed_model_id"]: 100}
    assert len(health) == 5 and "species" not in health[0] and health[0]["island"]


def test_deployment_components_compile_into_a_pipeline(tmp_path):
    @dsl.pipeline(name="deployment-smoke")
    def smoke(model_uri: str, examples_uri: str):
        model = dsl.importer(artifact_uri=model_uri, artifact_class=Model)
        examples = dsl.importer(artifact_uri=examples_uri, artifact_class=Dataset)
        gate = infra_validate(model=model.output, examples=examples.output, label="species")
        with dsl.If(gate.outputs["Output"] == True):  # noqa: E712 - a KFP condition
            c.deploy_kserve(name="penguins", namespace="models", model=model.output, serving_image="img")
            c.deploy_local(registry_uri="/tmp/registry", model_name="penguins")

    path = tmp_path / "smoke.yaml"
    compiler.Compiler().compile(smoke, str(path))
    spec = yaml.safe_load(path.read_text())
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values() if "container" in e}
    assert any("kfp-mlops-serve" in image for image in images)
    assert any("kfp-mlops-core" in image for image in images)


def test_infra_validation_gates_deployment_under_kfp_local(penguin_model_dir, eval_csv, tmp_path):
    """The gate as the lead wires it: infra_validate -> dsl.If -> deploy_kserve (manifest only), run by kfp.local."""
    from kfp_mlops.pipelines.local_runner import run_pipeline

    @dsl.pipeline(name="deployment-gate")
    def gate_pipeline(model_uri: str, examples_uri: str):
        model = dsl.importer(artifact_uri=model_uri, artifact_class=Model)
        examples = dsl.importer(artifact_uri=examples_uri, artifact_class=Dataset)
        gate = infra_validate(model=model.output, examples=examples.output, label="species", max_examples=8)
        with dsl.If(gate.outputs["Output"] == True):  # noqa: E712 - a KFP condition
            c.deploy_kserve(name="penguins", namespace="models", model=model.output, serving_image="img",
                            storage_uri="gs://b/m", apply=False)

    run = run_pipeline(gate_pipeline, {"model_uri": str(penguin_model_dir), "examples_uri": str(eval_csv)},
                       root=tmp_path / "root", enable_caching=False, progress=False)
    assert run.succeeded, run.error
    assert run.output("infra-validate") is True
    assert run.output("deploy-kserve") == "written"
    manifest = yaml.safe_load(Path(run.tasks["deploy-kserve"]["manifest"].path).read_text())
    assert manifest["spec"]["predictor"]["containers"][0]["env"][0]["value"] == "gs://b/m"
