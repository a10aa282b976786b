"""The validation components: python_func with real kfp.dsl artifacts, and a kfp.local pipeline."""

import json
from pathlib import Path

import pandas as pd
import pytest
from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Output

from kfp_mlops.components.core.anomalies import read_anomalies
from kfp_mlops.components.core.schema_io import read_schema
from kfp_mlops.components.core.tables import bundled_dataset_path
from kfp_mlops.components.validation import component as c


def _artifact(kind, path: Path):
    artifact = kind(uri=str(path))
    artifact.path = str(path)  # the local path the component body reads and writes
    return artifact


@pytest.fixture()
def penguin_splits(tmp_path):
    frame = pd.read_csv(bundled_dataset_path()).sample(frac=1.0, random_state=0)
    frame.iloc[:240].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[240:].to_csv(tmp_path / "eval.csv", index=False)
    shifted = frame.iloc[240:].copy()
    shifted["body_mass_g"] = shifted["body_mass_g"] + 1500
    shifted.to_csv(tmp_path / "shifted.csv", index=False)
    return tmp_path


def test_components_run_with_real_artifacts(penguin_splits):
    d = penguin_splits
    for name in ("train", "eval", "shifted"):
        stats = _artifact(Artifact, d / f"{name}.pb")
        c.generate_statistics.python_func(dataset=_artifact(Dataset, d / f"{name}.csv"), statistics=stats)
        assert stats.metadata["rows"] > 0 and stats.metadata["columns"] == 8
    schema = _artifact(Artifact, d / "schema.pbtxt")
    c.infer_schema.python_func(statistics=_artifact(Artifact, d / "train.pb"), schema=schema, label="species")
    assert schema.metadata["features"] == 8
    assert "SERVING" in read_schema(schema.path).feature[0].not_in_environment

    def run(name, **extra):
        anomalies = _artifact(Artifact, d / f"{name}-anomalies.pbtxt")
        report, metrics = _artifact(HTML, d / f"{name}.html"), _artifact(Metrics, d / f"{name}-metrics.json")
        passed = c.validate_data.python_func(
            statistics=_artifact(Artifact, d / f"{name}.pb"), schema=schema, anomalies=anomalies,
            report=report, metrics=metrics, **extra)
        return passed, anomalies, report, metrics

    passed, anomalies, report, metrics = run("eval", baseline_statistics=_artifact(Artifact, d / "train.pb"),
                                            training_statistics=_artifact(Artifact, d / "train.pb"))
    assert passed is True, anomalies.metadata["anomalies"]
    assert json.loads(Path(metrics.path).read_text())["passed"] == 1.0
    assert metrics.metadata["num_anomalies"] == 0.0
    assert "PASSED" in Path(report.path).read_text()

    passed, anomalies, report, metrics = run("shifted", baseline_statistics=_artifact(Artifact, d / "train.pb"))
    assert passed is False
    assert any(line.startswith("body_mass_g: drift (jensen_shannon") for line in anomalies.metadata["anomalies"])
    assert "body_mass_g" in read_anomalies(anomalies.path).anomaly_info
    assert json.loads(Path(metrics.path).read_text())["max_drift"] > 0.1

    passed, *_ = run("shifted")  # no baseline: no drift check, and the schema has no ranges
    assert passed is True


def test_import_schema_copies_a_curated_schema(tmp_path):
    curated = tmp_path / "curated.pbtxt"
    curated.write_text('# curated by hand\nfeature { name: "x" type: FLOAT float_domain { min: 0 max: 1 } }\n')
    schema = _artifact(Artifact, tmp_path / "out" / "schema.pbtxt")
    c.import_schema.python_func(schema_path=str(curated), schema=schema)
    assert Path(schema.path).read_text() == curated.read_text()
    assert schema.metadata["features"] == 1


@dsl.pipeline(name="validation-local-test")
def _validation_pipeline(train_uri: str, eval_uri: str):
    train = dsl.importer(artifact_uri=train_uri, artifact_class=Dataset, reimport=False)
    evaluation = dsl.importer(artifact_uri=eval_uri, artifact_class=Dataset, reimport=False)
    train_stats = c.generate_statistics(dataset=train.output)
    eval_stats = c.generate_statistics(dataset=evaluation.output)
    schema = c.infer_schema(statistics=train_stats.outputs["statistics"], label="species")
    c.validate_data(statistics=eval_stats.outputs["statistics"], schema=schema.outputs["schema"]) \
        .set_display_name("without baseline")
    c.validate_data(statistics=eval_stats.outputs["statistics"], schema=schema.outputs["schema"],
                    baseline_statistics=train_stats.outputs["statistics"],
                    training_statistics=train_stats.outputs["statistics"]).set_display_name("with baseline")


def test_optional_artifact_inputs_under_kfp_local(penguin_splits, tmp_path, monkeypatch):
    from kfp import local

    monkeypatch.chdir(tmp_path)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    _validation_pipeline(train_uri=str(penguin_splits / "train.csv"), eval_uri=str(penguin_splits / "eval.csv"))
    runs = list((tmp_path / "root").glob("validation-local-test-*"))
    assert len(runs) == 1
    found = sorted(p.parent.name for p in runs[0].rglob("anomalies"))
    assert found == ["validate-data", "validate-data-2"]
    for path in runs[0].rglob("metrics"):
        assert json.loads(path.read_text())["passed"] == 1.0
    with_baseline = next(p for p in runs[0].rglob("anomalies") if p.parent.name == "validate-data-2")
    assert read_anomalies(with_baseline).drift_skew_info  # drift was measured against the baseline


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def _train_marker(schema: Input[Artifact], marker: Output[Artifact]):
    with open(marker.path, "w") as handle:
        handle.write("trained")


def _make_gated_pipeline(curated_schema: str = ""):
    """A training-like pipeline: the schema source is chosen when the pipeline is built.

    kfp.local 2.17 cannot resolve ``dsl.OneOf`` over artifacts ("Expected 1 artifact in
    ArtifactSelectorSpec"), so infer-or-import is a factory flag, as TFX does it.
    """

    @dsl.pipeline(name="validation-gate-test")
    def gated(train_uri: str, eval_uri: str):
        train = dsl.importer(artifact_uri=train_uri, artifact_class=Dataset, reimport=False)
        evaluation = dsl.importer(artifact_uri=eval_uri, artifact_class=Dataset, reimport=False)
        train_stats = c.generate_statistics(dataset=train.output)
        eval_stats = c.generate_statistics(dataset=evaluation.output)
        if curated_schema:
            schema = c.import_schema(schema_path=curated_schema).outputs["schema"]
        else:
            schema = c.infer_schema(statistics=train_stats.outputs["statistics"], label="species").outputs["schema"]
        gate = c.validate_data(statistics=eval_stats.outputs["statistics"], schema=schema,
                               training_statistics=train_stats.outputs["statistics"])
        with dsl.If(gate.outputs["Output"] == True):  # noqa: E712 - a KFP condition, not a Python bool
            _train_marker(schema=schema)

    return gated


@pytest.mark.parametrize("case", ["clean", "curated-range"])
def test_validation_gates_training_under_kfp_local(penguin_splits, tmp_path, monkeypatch, case):
    from kfp import local

    monkeypatch.chdir(tmp_path)
    root = tmp_path / "root"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    schema_path = ""
    if case == "curated-range":  # a curated schema whose range the eval data breaks
        schema_path = str(tmp_path / "curated.pbtxt")
        Path(schema_path).write_text('feature { name: "body_mass_g" type: INT int_domain { min: 0 max: 3000 } }\n')
    _make_gated_pipeline(schema_path)(train_uri=str(penguin_splits / "train.csv"),
                                      eval_uri=str(penguin_splits / "eval.csv"))
    trained = list(root.rglob("marker"))
    if case == "clean":
        assert len(trained) == 1 and trained[0].read_text() == "trained"
    else:
        assert trained == []  # validation failed: the training step never ran
        anomalies = read_anomalies(next(root.rglob("anomalies")))
        assert "body_mass_g" in anomalies.anomaly_info and "species" in anomalies.anomaly_info


def test_a_long_statistics_read_reports_its_progress(tmp_path, caplog, monkeypatch):
    from kfp_mlops.components.validation import statistics

    path = tmp_path / "rows.csv"
    path.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(5000)))
    monkeypatch.setattr(statistics, "PROGRESS_SECONDS", 0.0)  # every block is "long"
    caplog.set_level("INFO", logger="kfp_mlops")
    result = statistics.compute_statistics(path, block_size=4096)
    assert result.datasets[0].num_examples == 5000
    lines = [r.getMessage() for r in caplog.records if r.name == "kfp_mlops.components.validation.statistics"]
    assert len(lines) > 1 and lines[-1].startswith("5,000 rows read from rows.csv")
