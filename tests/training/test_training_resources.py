"""Resources per target, applied at compile time: the compiled YAMLs carry them."""

import pytest
import yaml
from google.protobuf import json_format
from kfp import compiler, dsl
from kfp.pipeline_spec import pipeline_spec_pb2

from kfp_mlops.components.images import DEFAULT_TAG
from kfp_mlops.pipelines import resources


def keras_pipeline(target, accelerator, count, cpu=None, memory=None):
    from kfp_mlops.components.training.component import train_keras, train_sklearn

    @dsl.pipeline(name="train-on-gpu")
    def pipeline(train_uri: str, eval_uri: str, schema_uri: str, label: str):
        train = dsl.importer(artifact_uri=train_uri, artifact_class=dsl.Dataset)
        evaluation = dsl.importer(artifact_uri=eval_uri, artifact_class=dsl.Dataset)
        schema = dsl.importer(artifact_uri=schema_uri, artifact_class=dsl.Artifact)
        task = train_keras(train=train.output, eval=evaluation.output, schema=schema.output, label=label)
        resources.apply_accelerator(task, target, accelerator, count)
        resources.apply_machine(task, target, cpu, memory)
        train_sklearn(train=train.output, schema=schema.output, label=label)  # stays on CPU, in core

    return pipeline


def compile_docs(pipeline, tmp_path) -> list[dict]:
    path = tmp_path / "pipeline.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    json_format.ParseDict(docs[0], pipeline_spec_pb2.PipelineSpec())  # strict: no unknown fields
    return docs


def executor(docs, name: str) -> dict:
    return docs[0]["deploymentSpec"]["executors"][f"exec-{name}"]["container"]


def test_vertex_yaml_requests_the_named_accelerator_and_machine(tmp_path):
    docs = compile_docs(keras_pipeline("vertex", "NVIDIA_L4", 2, cpu="8", memory="32G"), tmp_path)
    assert len(docs) == 1  # aiplatform.PipelineJob loads single-document files only
    container = executor(docs, "train-keras")
    accelerator = container["resources"]["accelerator"]
    assert (accelerator["resourceType"], accelerator["resourceCount"]) == ("NVIDIA_L4", "2")
    assert container["resources"]["resourceCpuLimit"] == "8"
    assert container["resources"]["resourceMemoryLimit"] == "32G"
    assert container["image"].endswith(f"/kfp-mlops-gpu:{DEFAULT_TAG}")
    sklearn = executor(docs, "train-sklearn")
    assert "accelerator" not in sklearn.get("resources", {}) and sklearn["image"].endswith(f"/kfp-mlops-core:{DEFAULT_TAG}")


def test_kfp_yaml_requests_gpus_with_node_selector_and_toleration(tmp_path):
    docs = compile_docs(keras_pipeline("kfp", "NVIDIA_TESLA_T4", 1, cpu="4", memory="16G"), tmp_path)
    container = executor(docs, "train-keras")
    accelerator = container["resources"]["accelerator"]
    assert (accelerator["resourceType"], accelerator["resourceCount"]) == ("nvidia.com/gpu", "1")
    assert container["resources"]["resourceCpuRequest"] == "4"
    assert container["image"].endswith(f"/kfp-mlops-gpu:{DEFAULT_TAG}")
    platform = docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert set(platform) == {"exec-train-keras"}
    config = platform["exec-train-keras"]
    assert config["nodeSelector"]["labels"] == {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}
    assert config["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_kfp_accepts_gke_labels_and_local_ignores_accelerators(tmp_path):
    docs = compile_docs(keras_pipeline("kfp", "nvidia-l4", 4), tmp_path)
    labels = docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-train-keras"]["nodeSelector"]["labels"]
    assert labels == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    local = compile_docs(keras_pipeline("local", "NVIDIA_L4", 3), tmp_path)
    assert len(local) == 1 and "resources" not in executor(local, "train-keras")
    assert executor(local, "train-keras")["image"].endswith(f"/kfp-mlops-tf:{DEFAULT_TAG}")
    cpu_only = compile_docs(keras_pipeline("vertex", None, 1), tmp_path)
    assert "resources" not in executor(cpu_only, "train-keras")


@pytest.mark.parametrize("target,accelerator,count,message", [
    ("vertex", "NVIDIA_RTX_4090", 1, "unknown accelerator 'NVIDIA_RTX_4090' for target 'vertex'; expected one of: NVIDIA_TESLA_T4"),
    ("vertex", "nvidia-l4", 1, "unknown accelerator 'nvidia-l4' for target 'vertex'"),
    ("vertex", "NVIDIA_L4", 3, "invalid accelerator count 3 for NVIDIA_L4 on Vertex AI; allowed: 1, 2, 4, 8"),
    ("vertex", "NVIDIA_TESLA_T4", 8, "allowed: 1, 2, 4$"),
    ("vertex", "NVIDIA_H100_MEGA_80GB", 1, "allowed: 8$"),
    ("kfp", "NVIDIA_L4", 0, "invalid accelerator count 0 .* allowed: 1, 2, 4, 8, 16"),
    ("kfp", "tpu-v5", 1, "unknown accelerator 'tpu-v5' for target 'kfp'.*nvidia-l4"),
    ("gke", "NVIDIA_L4", 1, "unknown target 'gke'; expected one of: local, vertex, kfp"),
])
def test_invalid_accelerators_fail_at_compile_time(target, accelerator, count, message):
    with pytest.raises(ValueError, match=message):
        keras_pipeline(target, accelerator, count)
    with pytest.raises(ValueError, match=message):
        resources.validate_accelerator(target, accelerator, count)


def test_malformed_machine_sizes_fail_with_the_value():
    with pytest.raises(ValueError, match="invalid cpu '4 cores'"):
        keras_pipeline("vertex", None, 1, cpu="4 cores")
