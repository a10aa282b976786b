"""Google Cloud Pipeline Components interop: our components and GCPC's chain both ways with no glue code."""
import json

import pytest
import yaml

gcpc = pytest.importorskip("google_cloud_pipeline_components", reason="the [gcp] extra installs GCPC")


def _compile(pipeline, tmp_path):
    from kfp import compiler

    path = tmp_path / "mixed.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    return yaml.safe_load(path.read_text())


def test_a_pipeline_mixing_our_components_and_gcpc_compiles(tmp_path):
    from google_cloud_pipeline_components.v1.batch_predict_job import ModelBatchPredictOp
    from google_cloud_pipeline_components.v1.endpoint import ModelDeployOp
    from google_cloud_pipeline_components.v1.model import ModelUploadOp
    from kfp import dsl

    from kfp_mlops.components.deployment.gcpc_component import (
        deploy_vertex_model,
        export_container_model,
        upload_vertex_model,
    )

    @dsl.pipeline(name="mixed")
    def mixed(project: str, location: str = "us-central1"):
        model = dsl.importer(artifact_uri="gs://b/models/penguins/v1", artifact_class=dsl.Model)
        rows = dsl.importer(artifact_uri="gs://b/eval.csv", artifact_class=dsl.Dataset)
        # ours -> GCPC: our model as an unmanaged container model, uploaded by ModelUploadOp
        container = export_container_model(model=model.output, serving_image="reg/kfp-mlops-serve:1")
        uploaded = ModelUploadOp(project=project, location=location, display_name="penguins",
                                 unmanaged_container_model=container.outputs["container_model"])
        # GCPC -> ours: ModelUploadOp's google.VertexModel into our canary deploy
        ours = deploy_vertex_model(project=project, location=location, endpoint_name="penguins",
                                   vertex_model=uploaded.outputs["model"], examples=rows.output, label="species")
        # ours -> GCPC: our google.VertexEndpoint and google.VertexModel into GCPC's ops
        ModelDeployOp(model=uploaded.outputs["model"], endpoint=ours.outputs["endpoint"],
                      dedicated_resources_machine_type="n1-standard-2", dedicated_resources_min_replica_count=1)
        mine = upload_vertex_model(project=project, location=location, model=model.output,
                                   serving_image="reg/kfp-mlops-serve:1")
        ModelBatchPredictOp(project=project, job_display_name="score", model=mine.outputs["vertex_model"],
                            gcs_source_uris=["gs://b/rows.jsonl"], gcs_destination_output_uri_prefix="gs://b/out")

    spec = _compile(mixed, tmp_path)
    outputs = spec["components"]
    assert outputs["comp-export-container-model"]["outputDefinitions"]["artifacts"]["container_model"][
        "artifactType"]["schemaTitle"] == "google.UnmanagedContainerModel"
    deploy = outputs["comp-deploy-vertex-model"]
    assert deploy["inputDefinitions"]["artifacts"]["vertex_model"]["artifactType"]["schemaTitle"] == \
        "google.VertexModel"
    assert deploy["outputDefinitions"]["artifacts"]["endpoint"]["artifactType"]["schemaTitle"] == \
        "google.VertexEndpoint"
    assert outputs["comp-upload-vertex-model"]["outputDefinitions"]["artifacts"]["vertex_model"][
        "artifactType"]["schemaTitle"] == "google.VertexModel"


def test_our_components_fill_the_artifacts_gcpc_reads(tmp_path, penguins_model, monkeypatch):
    import shutil

    from fake_vertex import FakeVertex
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform
    from google_cloud_pipeline_components.types.artifact_types import (
        UnmanagedContainerModel,
        VertexEndpoint,
        VertexModel,
    )
    from kfp.dsl import Artifact, Dataset, Model
    from kfp.dsl.types import artifact_types

    from kfp_mlops.components.deployment.gcpc_component import (
        deploy_vertex_model,
        export_container_model,
        upload_vertex_model,
    )

    model = Model(uri="gs://b/models/penguins/v1")
    container = UnmanagedContainerModel(uri="")
    export_container_model.python_func(model=model, serving_image="reg/kfp-mlops-serve:1", container_model=container)
    assert container.uri == "gs://b/models/penguins/v1"
    spec = container.metadata["containerSpec"]
    assert spec["imageUri"] == "reg/kfp-mlops-serve:1" and spec["command"][:2] == ["kfp-mlops", "serve"]
    assert (spec["predictRoute"], spec["healthRoute"], spec["ports"]) == ("/predict", "/health",
                                                                        [{"containerPort": 8080}])
    examples = tmp_path / "eval.csv"
    examples.write_text("island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,species\n"
                        "Biscoe,40.1,18.0,190,3900,male,Adelie\n")
    with FakeVertex() as fake:
        aiplatform.init(project="proj", location="us-central1", credentials=AnonymousCredentials(),
                        api_endpoint=fake.url, api_transport="rest")
        vertex_model = VertexModel(uri="")
        # A task reads gs://b/... at /gcs/b/...: the files verified against their manifest before the upload.
        monkeypatch.setattr(artifact_types, "_GCS_LOCAL_MOUNT_PREFIX", f"{tmp_path}/gcs/")
        shutil.copytree(penguins_model, tmp_path / "gcs" / "b" / "models" / "penguins" / "v1")
        upload_vertex_model.python_func(project="proj", location="us-central1", model=model,
                                        serving_image="reg/kfp-mlops-serve:1", vertex_model=vertex_model,
                                        api_endpoint=fake.url)
        assert vertex_model.metadata["resourceName"].startswith("projects/proj/locations/us-central1/models/")
        assert vertex_model.uri.endswith("/v1/" + vertex_model.metadata["resourceName"])
        endpoint, outcome = VertexEndpoint(uri=""), Artifact(uri="")
        outcome.path = str(tmp_path / "deployment.json")
        promoted = deploy_vertex_model.python_func(
            project="proj", location="us-central1", endpoint_name="penguins", vertex_model=vertex_model,
            examples=Dataset(uri=str(examples)), label="species", endpoint=endpoint, deployment=outcome,
            health_requests=1, api_endpoint=fake.url)
    assert promoted is True
    (tmp_path / "gcs" / "b" / "models" / "penguins" / "v1" / "model_manifest.json").write_text("{}")  # tampered
    with pytest.raises(Exception, match="manifest"):
        upload_vertex_model.python_func(project="proj", location="us-central1", model=model,
                                        serving_image="img", vertex_model=VertexModel(uri=""), api_endpoint="http://x")
    assert endpoint.metadata["resourceName"].startswith("projects/proj/locations/us-central1/endpoints/")
    assert json.loads((tmp_path / "deployment.json").read_text())["promoted"] is True
