"""Infra validation serves the candidate for real and compares answers with in-process predictions."""
from __future__ import annotations

import json
import shutil

import pytest

from kfp_mlops.components.deployment.infra import validate_serving, write_report
from kfp_mlops.components.errors import InputError

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
