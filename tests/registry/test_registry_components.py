"""evaluate_model -> register_model -> promote_model as components under kfp.local (SubprocessRunner)."""

import json
from pathlib import Path

import pytest
from kfp import dsl
from registry_models import iris_frame, make_model

from kfp_mlops.components.core.artifacts import sha256_file
from kfp_mlops.components.evaluation.component import evaluate_model
from kfp_mlops.components.registry import open_registry
from kfp_mlops.components.registry.component import promote_model, register_model


@dsl.pipeline(name="evaluate-register-promote")
def evaluate_register_promote(model_uri: str, test_uri: str, train_uri: str, registry_uri: str, with_lineage: bool):
    model = dsl.importer(artifact_uri=model_uri, artifact_class=dsl.Model)
    test = dsl.importer(artifact_uri=test_uri, artifact_class=dsl.Dataset)
    evaluate = evaluate_model(model=model.output, test=test.output, label="target", thresholds={"accuracy": 0.8},
                              registry_uri=registry_uri, model_name="iris", slice_feature="target",
                              slice_floors={"accuracy": 0.5})
    with dsl.If(evaluate.outputs["Output"] == True):
        with dsl.If(with_lineage == True):
            train = dsl.importer(artifact_uri=train_uri, artifact_class=dsl.Dataset,
                                 metadata={"source_sha256": "f" * 64})
            register = register_model(model=model.output, metrics=evaluate.outputs["metrics"],
                                      registry_uri=registry_uri, model_name="iris", dataset=train.output,
                                      pipeline_run_id="run-1")
            promote_model(registry_uri=registry_uri, model_name="iris", version=register.outputs["Output"],
                          gate_report=evaluate.outputs["report"])
        with dsl.Else():
            bare = register_model(model=model.output, metrics=evaluate.outputs["metrics"],
                                  registry_uri=registry_uri, model_name="iris")  # optional inputs left out
            promote_model(registry_uri=registry_uri, model_name="iris", version=bare.outputs["Output"])


@pytest.mark.slow  # the training pipeline runs the same components end to end
def test_components_chain_under_kfp_local(tmp_path):
    from kfp_mlops.pipelines.local_runner import run_pipeline

    model = make_model(tmp_path / "model")
    frame = iris_frame()
    frame.iloc[::3].to_csv(tmp_path / "test.csv", index=False)
    frame.to_csv(tmp_path / "train.csv", index=False)
    registry_uri = str(tmp_path / "registry")
    arguments = {"model_uri": str(model), "test_uri": str(tmp_path / "test.csv"), "train_uri": str(tmp_path / "train.csv"),
                 "registry_uri": registry_uri}
    run = run_pipeline(evaluate_register_promote, {**arguments, "with_lineage": True}, root=tmp_path / "root",
                       enable_caching=False, progress=False, log_path=tmp_path / "log.txt")
    assert run.succeeded, run.error
    evaluation = run.tasks["evaluate-model"]
    assert evaluation["Output"] is True
    metrics = evaluation["metrics"]
    assert metrics.metadata["accuracy"] > 0.8
    assert json.loads(Path(metrics.path).read_text())["accuracy"] == metrics.metadata["accuracy"]
    matrix = evaluation["classification_metrics"].metadata["confusionMatrix"]
    assert [c["displayName"] for c in matrix["annotationSpecs"]] == ["0", "1", "2"]
    assert "BLESSED" in Path(evaluation["report"].path).read_text()
    champion = open_registry(registry_uri).get("iris", "champion")
    assert champion.version == "v1" and champion.metrics["accuracy"] == metrics.metadata["accuracy"]
    assert champion.lineage["pipeline_run_id"] == "run-1"
    assert champion.lineage["dataset_sha256"] == sha256_file(tmp_path / "train.csv")
    assert champion.lineage["source_sha256"] == "f" * 64 and champion.lineage["schema_sha256"] == ""
    [promoted] = open_registry(registry_uri).history("iris")  # the audit trail says why: the gate's verdict
    assert promoted.reason.startswith("blessed: ") and "accuracy" in promoted.reason and promoted.actor

    # Again, without the optional inputs: the same files come back as the same version (idempotent).
    again = run_pipeline(evaluate_register_promote, {**arguments, "with_lineage": False}, root=tmp_path / "root",
                         enable_caching=False, progress=False, log_path=tmp_path / "log2.txt")
    assert again.succeeded, again.error
    assert again.tasks["register-model-2"]["Output"] == "v1"
    assert [v.version for v in open_registry(registry_uri).list("iris")] == ["v1"]
