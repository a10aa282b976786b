"""Strict compile tests: every pipeline, both targets, parsed into PipelineSpec."""
import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from kfp_mlops.pipelines.cli.main import main
from kfp_mlops.pipelines.compiler import compile_pipeline, pipeline_factories


def _load(path):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    spec = json_format.ParseDict(docs[0], pipeline_spec_pb2.PipelineSpec())  # raises on unknown fields
    platform = json_format.ParseDict(docs[1], pipeline_spec_pb2.PlatformSpec()) if len(docs) > 1 else None
    return spec, platform


@pytest.mark.parametrize("target", ["vertex", "kfp"])
@pytest.mark.parametrize("name", sorted(pipeline_factories()))
def test_every_pipeline_compiles_strictly(tmp_path, name, target):
    path = compile_pipeline(name, target, tmp_path, image_tag="abc123", image_registry="us-docker.pkg.dev/p/r")
    spec, _ = _load(path)
    assert spec.pipeline_info.name == name
    images = {e.container.image for e in spec.deployment_spec.fields["executors"].struct_value.fields.values()
              for e in [json_format.ParseDict(json_format.MessageToDict(e.struct_value),
                                               pipeline_spec_pb2.PipelineDeploymentConfig.ExecutorSpec())]
              if e.HasField("container")}
    # Ours, retagged; Google's own image runs GCPC's hyperparameter tuning job launcher on Vertex AI.
    foreign = {i for i in images if i.startswith("gcr.io/ml-pipeline/google-cloud-pipeline-components:")}
    assert foreign == set() or (target, name) == ("vertex", "tuning")
    assert images - foreign and all(i.startswith("us-docker.pkg.dev/p/r/kfp-mlops-") and i.endswith(":abc123")
                                    for i in images - foreign)


@pytest.mark.parametrize("trainer", ["sklearn", "keras"])
def test_tuning_maps_to_each_targets_service(tmp_path, trainer):
    """--tune: Optuna in a task locally, a Vertex AI hyperparameter tuning job, a Katib Experiment on Kubeflow."""
    import yaml

    from kfp_mlops.pipelines.training import build_training_pipeline

    vertex = compile_pipeline("training", "vertex", tmp_path / "v", trainer=trainer, tune=True).read_text()
    assert "google_cloud_pipeline_components.container.v1.hyperparameter_tuning_job.launcher" in vertex
    assert "LAST_MEASUREMENT" in vertex and "comp-prepare-vertex-tuning" in vertex
    assert "comp-tune-katib" not in vertex and "comp-tune-hyperparameters" not in vertex
    kfp = compile_pipeline("training", "kfp", tmp_path / "k", trainer=trainer, tune=True).read_text()
    assert "comp-tune-katib" in kfp and "hyperparameter_tuning_job" not in kfp
    # The final fit takes the search's values, and records the search in the model's metadata.
    train = "train-keras" if trainer == "keras" else "train-sklearn"
    tasks = yaml.safe_load(kfp)["root"]["dag"]["tasks"]["condition-1"]["componentRef"]["name"]
    inner = yaml.safe_load(kfp)["components"][tasks]["dag"]["tasks"][train]["inputs"]["parameters"]
    assert inner["hyperparameters"]["taskOutputParameter"] == {"outputParameterKey": "hyperparameters",
                                                               "producerTask": "tune-katib"}
    assert inner["tuning"]["taskOutputParameter"]["outputParameterKey"] == "summary"
    assert build_training_pipeline("local", trainer, tune=True) is not None
    plain = compile_pipeline("training", "kfp", tmp_path / "p", trainer=trainer).read_text()
    assert "tune-katib" not in plain


def test_compile_is_deterministic(tmp_path):
    first = compile_pipeline("training", "vertex", tmp_path / "a").read_text()
    second = compile_pipeline("training", "vertex", tmp_path / "b").read_text()
    assert first == second


def test_cli_compiles_all_pipelines(tmp_path, capsys):
    assert main(["compile", "--target", "kfp", "--out", str(tmp_path)]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.yaml")) == sorted(pipeline_factories())


def test_cli_rejects_unknown_pipeline_with_one_line(tmp_path, capsys):
    assert main(["compile", "nope", "--target", "vertex", "--out", str(tmp_path)]) == 2
    assert "unknown pipeline 'nope'" in capsys.readouterr().err
