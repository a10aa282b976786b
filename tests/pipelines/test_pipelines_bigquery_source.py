"""A BigQuery source: the Vertex pipeline's split runs as query jobs; other targets read through the client."""
# No `from __future__ import annotations` here: kfp reads the test pipeline's annotations as types.

from pathlib import Path

import pytest
import yaml
from google.protobuf import json_format
from kfp import compiler, dsl
from kfp.pipeline_spec import pipeline_spec_pb2
from sklearn.datasets import load_wine

from kfp_mlops.components.core import bigquery as bq
from kfp_mlops.components.core.tables import bundled_dataset_path
from kfp_mlops.components.data.gcpc_component import read_bigquery, split_bigquery, split_bigquery_table
from kfp_mlops.pipelines.cli.main import main
from tests.data.bigquery_fake import FakeBigQuery

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "vertex-bigquery" / "training.yaml"
REFRESH = ("kfp-mlops compile training --target vertex --data-source bigquery --out tests/golden/vertex-bigquery "
           "--image-tag golden")


@pytest.fixture
def fake(tmp_path, monkeypatch):
    with FakeBigQuery({"my-proj.ds.wine": load_wine(as_frame=True).frame}, gcs_root=tmp_path / "gcs") as server:
        monkeypatch.setenv(bq.ENDPOINT_ENV, server.url)
        yield server


def test_vertex_training_with_a_bigquery_source_splits_in_bigquery(tmp_path):
    assert main(["compile", "training", "--target", "vertex", "--data-source", "bigquery", "--out", str(tmp_path),
                 "--image-tag", "golden"]) == 0
    text = (tmp_path / "training.yaml").read_text()
    assert text == GOLDEN.read_text(), f"differs from its golden; if intended, refresh with: {REFRESH}"
    spec = json_format.ParseDict(yaml.safe_load(text), pipeline_spec_pb2.PipelineSpec())  # strict
    tasks = spec.root.dag.tasks
    assert "split-bigquery" in tasks and "ingest-data" not in tasks
    split = tasks["split-bigquery"]
    assert split.inputs.parameters["data_path"].component_input_parameter == "data_path"
    assert split.inputs.parameters["data_fingerprint"].task_output_parameter.producer_task == "fingerprint-data"
    executor = spec.deployment_spec["executors"]["exec-split-bigquery"]["container"]
    assert "split_in_bigquery" in executor["command"][-1] and executor["image"].endswith("kfp-mlops-core:golden")
    # The statistics and the trainer read the exported splits.
    train_input = spec.components["comp-generate-statistics"].input_definitions.artifacts["dataset"]
    assert train_input.artifact_type.schema_title == "system.Dataset"
    assert tasks["generate-statistics"].inputs.artifacts["dataset"].task_output_artifact.producer_task == \
        "split-bigquery"


@pytest.mark.parametrize("target", ["kfp"])
def test_other_targets_refuse_the_bigquery_source_in_one_line(tmp_path, capsys, target):
    assert main(["compile", "training", "--target", target, "--data-source", "bigquery", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"kfp-mlops: error: data source 'bigquery' is not available for target '{target}'")
    assert "\n" not in err


def test_the_split_component_writes_parquet_datasets_with_their_jobs(fake, tmp_path):
    outputs = {name: dsl.Dataset(name=name, uri=f"gs://bkt/root/split/{name}", metadata={})
               for name in ("train", "eval", "test")}
    label = split_bigquery.python_func(data_path="bq://my-proj.ds.wine", label="target", project="my-proj",
                                       data_fingerprint="bq:x", **outputs)
    assert label == "target"
    rows = {name: artifact.metadata["rows"] for name, artifact in outputs.items()}
    assert sum(rows.values()) == 178 and min(rows.values()) > 0
    train = outputs["train"].metadata
    assert train["format"] == "parquet" and train["shards"] == "gs://bkt/root/split/train/part-*.parquet"
    assert train["source_fingerprint"] == "bq:x" and train["bigquery_job_id"]
    assert (tmp_path / "gcs" / "bkt" / "root" / "split" / "train" / "part-000000000000.parquet").is_file()


def test_gcpc_query_job_output_chains_into_the_table_split(fake, tmp_path):
    from google_cloud_pipeline_components.types.artifact_types import BQTable
    from google_cloud_pipeline_components.v1.bigquery import BigqueryQueryJobOp

    @dsl.pipeline(name="bq-chain")
    def chain(query: str):
        job = BigqueryQueryJobOp(query=query, project="my-proj", location="US")
        split_bigquery_table(table=job.outputs["destination_table"], label="target")

    compiler.Compiler().compile(chain, str(tmp_path / "chain.yaml"))
    spec = yaml.safe_load((tmp_path / "chain.yaml").read_text())
    table_input = spec["components"]["comp-split-bigquery-table"]["inputDefinitions"]["artifacts"]["table"]
    assert table_input["artifactType"]["schemaTitle"] == "google.BQTable"
    table = BQTable.create("t", "my-proj", "ds", "wine")
    outputs = {name: dsl.Dataset(name=name, uri=f"gs://bkt/chain/{name}", metadata={})
               for name in ("train", "eval", "test")}
    assert split_bigquery_table.python_func(table=table, label="target", **outputs) == "target"
    assert outputs["test"].metadata["source"] == "bq://my-proj.ds.wine"


def test_batch_prediction_reads_bigquery_rows_through_the_client_on_any_target(fake, tmp_path):
    from kfp_mlops.pipelines.compiler import compile_pipeline

    path = compile_pipeline("batch-prediction", "kfp", tmp_path, data_source="bigquery")
    spec = yaml.safe_load_all(path.read_text()).__next__()
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["generate-statistics"]["inputs"]["artifacts"]["dataset"]["taskOutputArtifact"] == {
        "producerTask": "read-bigquery", "outputArtifactKey": "rows"}
    assert not [name for name in tasks if name.startswith("importer")]
    rows = dsl.Dataset(name="rows", uri=str(tmp_path / "rows.csv"), metadata={})
    read_bigquery.python_func(data_path="SELECT * FROM `my-proj.ds.wine` WHERE target = 2", rows=rows,
                              data_fingerprint="bq-query-sha256:x")
    import pandas as pd

    frame = pd.read_csv(rows.path)
    assert len(frame) == rows.metadata["rows"] == 48 and set(frame["target"]) == {2}
    assert rows.metadata["format"] == "csv" and rows.metadata["fingerprint"] == "bq-query-sha256:x"


@pytest.mark.slow
def test_training_runs_locally_on_a_bigquery_table_read_through_the_client(tmp_path, monkeypatch, capsys):
    import pandas as pd

    penguins = pd.read_csv(bundled_dataset_path())
    with FakeBigQuery({"my-proj.ds.penguins": penguins}) as server:
        monkeypatch.setenv(bq.ENDPOINT_ENV, server.url)  # kfp.local's tasks inherit it
        assert main(["run", "training", "--data", "bq://my-proj.ds.penguins", "--label", "species"]) == 0
        reads = server.calls("GET", "/tables/penguins/data$")
        out = capsys.readouterr().out
        assert "Registered: penguins v1 (champion)" in out
        assert len(reads) >= 2  # the pre-flight's sample, and the ingestion's whole read
        scoring = "SELECT * EXCEPT (species) FROM `my-proj.ds.penguins`"
        assert main(["run", "batch-prediction", "--data", scoring, "--model-name", "penguins"]) == 0
    assert "Scored 344 rows with penguins v1" in capsys.readouterr().out
