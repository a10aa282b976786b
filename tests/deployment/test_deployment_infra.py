"""Infra validation serves the candidate for real and compares answers with in-process predictions."""
from __future__ import annotations

import json
import shutil

import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.core.model_io import write_manifest
from kfp_mlops.components.serving.infra import validate_serving, write_report

pytestmark = pytest.mark.filterwarnings("ignore:ORJSONResponse is deprecated")


def test_good_candidate_passes(penguin_model_dir, eval_csv, tmp_path):
    report = validate_serving(penguin_model_dir, eval_csv, "species", max_examples=15)
    assert report.passed, report.checks
    assert report.rows == 15
    assert any("V1 predictions equal" in c for c in report.checks)
    assert any("V2 predictions equal" in c for c in report.checks)
    write_report(report, tmp_path / "infra.json")
    assert json.loads((tmp_path / "infra.json").read_text())["passed"] is True


def test_candidate_whose_contract_does_not_fit_its_data_fails(penguin_model_dir, eval_csv, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(penguin_model_dir, broken)
    contract = json.loads((broken / "feature_contract.json").read_text())
    contract["features"][0]["dtype"] = "float"  # island is a string column
    (broken / "feature_contract.json").write_text(json.dumps(contract))
    write_manifest(broken)  # a wrong contract, but one its author wrote (verification passes)
    report = validate_serving(broken, eval_csv, "species", max_examples=5)
    assert not report.passed
    assert any(c.startswith("FAILED: V1 predict") and "island" in c for c in report.checks)


def test_bad_examples_are_input_errors(penguin_model_dir, eval_csv, tmp_path):
    with pytest.raises(InputError, match="not found"):
        validate_serving(penguin_model_dir, tmp_path / "missing.csv", "species")
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("island,species\nBiscoe,Adelie\n")
    with pytest.raises(InputError, match="bill_length_mm"):
        validate_serving(penguin_model_dir, narrow, "species")


def test_model_from_the_real_sklearn_trainer_passes(penguins_frame, eval_csv, tmp_path):
    """The trainer's own model directory (FrameCaster inside) serves the same answers as in-process."""
    trainer = pytest.importorskip("kfp_mlops.components.training.sklearn_trainer")
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema = schema_pb2.Schema()
    for name, kind in [("species", schema_pb2.BYTES), ("island", schema_pb2.BYTES), ("sex", schema_pb2.BYTES),
                       ("bill_length_mm", schema_pb2.FLOAT), ("bill_depth_mm", schema_pb2.FLOAT),
                       ("flipper_length_mm", schema_pb2.FLOAT), ("body_mass_g", schema_pb2.FLOAT),
                       ("year", schema_pb2.INT)]:
        schema.feature.add(name=name, type=kind)
    (tmp_path / "schema.pbtxt").write_text(text_format.MessageToString(schema))
    penguins_frame.iloc[1::5].to_csv(tmp_path / "train.csv", index=False)
    trainer.train_sklearn_model(tmp_path / "train.csv", tmp_path / "schema.pbtxt", tmp_path / "model", "species",
                                estimator="random_forest", hyperparameters={"n_estimators": 20})
    report = validate_serving(tmp_path / "model", eval_csv, "species", max_examples=20)
    assert report.passed, report.checks
