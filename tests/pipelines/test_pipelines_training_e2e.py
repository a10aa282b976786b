"""End to end: `kfp-mlops run training` locally, on good and bad input."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kfp_mlops.components.core.tables import bundled_dataset_path
from kfp_mlops.pipelines.cli.main import main


def _registry_versions(home: Path) -> list:
    from kfp_mlops.components.registry import open_registry

    if not (home / "registry").exists():
        return []
    return list(open_registry(str(home / "registry")).list())


def test_training_runs_end_to_end_and_registers_a_working_model(isolated_home, capfd, tmp_path):
    code = main(["run", "training", "--model-name", "penguins", "--result-file", str(tmp_path / "result.json")])
    out = capfd.readouterr().out
    assert code == 0, out
    assert json.loads((tmp_path / "result.json").read_text()) == {
        "model_name": "penguins", "version": "v1", "promoted": True, "stopped_by": None}
    assert "Data validation: passed" in out
    assert "Blessed: yes" in out
    assert "Registered: penguins v1 (champion)" in out
    for step in ("ingest-data", "generate-statistics", "infer-schema", "validate-data",
                 "train-sklearn", "evaluate-model", "register-model", "promote-model"):
        assert f"({step}): ok in " in out  # display name (task name): ok in 1.2 s

    from kfp_mlops.components.registry import open_registry

    registry = open_registry(str(isolated_home / "registry"))
    champion = registry.get("penguins", "champion")
    assert 0.9 <= champion.metrics["accuracy"] <= 1.0
    predictor = registry.load("penguins", "champion")
    rows = pd.read_csv(bundled_dataset_path()).drop(columns=["species"]).head(20)
    predictions = predictor.predict(rows)
    assert set(predictions) <= {"Adelie", "Chinstrap", "Gentoo"}
    probabilities = predictor.predict_proba(rows)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)

    # A cached re-run registers nothing new and keeps the same champion.
    assert main(["run", "training", "--model-name", "penguins"]) == 0
    out = capfd.readouterr().out
    assert "(ingest-data): cached" in out and "(train-sklearn): cached" in out
    assert "Registered: penguins v1" in out


@pytest.mark.parametrize(
    "content, label, message",
    [
        (None, "species", "data file not found"),
        (b"", "species", "data file is empty"),
        (b"\x00\x01\x02binary\x00", "species", "holds binary data"),
        (b"{\"json\": true}\n", "species", "does not look like a CSV"),
        (b"a,b\n1,2\n", "species", "label column 'species' not found"),
    ],
)
def test_bad_input_fails_with_one_line_cause_and_registers_nothing(
    tmp_path, isolated_home, capfd, content, label, message
):
    path = tmp_path / "input.csv"
    if content is not None:
        path.write_bytes(content)
    code = main(["run", "training", "--data", str(path), "--label", label])
    err = capfd.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert _registry_versions(isolated_home) == []


def test_bad_input_inside_the_pipeline_stops_at_ingest(tmp_path, isolated_home):
    from kfp_mlops.pipelines import local_runner
    from kfp_mlops.pipelines.training import build_training_pipeline

    run = local_runner.run_pipeline(
        build_training_pipeline(), {"data_path": str(tmp_path / "missing.csv"), "label": "y",
                                    "registry_uri": str(isolated_home / "registry")},
        progress=False, log_path=tmp_path / "log.txt",
    )
    assert not run.succeeded
    assert run.error.startswith("InputError: data file not found")
    assert list(run.tasks) == []
    assert _registry_versions(isolated_home) == []


def test_failed_validation_stops_before_training(tmp_path, isolated_home, capfd):
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema = schema_pb2.Schema()
    for name in ("species", "island", "sex"):
        schema.feature.add(name=name, type=schema_pb2.BYTES)
    for name in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"):
        schema.feature.add(name=name, type=schema_pb2.FLOAT)
    island = schema.feature[1]
    island.domain = "island"
    schema.string_domain.add(name="island", value=["Biscoe", "Dream"])  # Torgersen is new
    schema.feature.add(name="tail_length_mm", type=schema_pb2.FLOAT).presence.min_fraction = 1.0
    path = tmp_path / "schema.pbtxt"
    path.write_text(text_format.MessageToString(schema))

    code = main(["run", "training", "--schema", str(path), "--model-name", "penguins"])
    out = capfd.readouterr().out
    assert code == 1
    assert "Data validation: FAILED" in out
    assert "island" in out and "tail_length_mm" in out
    assert "train-sklearn" not in out
    assert _registry_versions(isolated_home) == []
