"""The documented command on data other than the penguins: the gate's verdict, end to end (slow)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from kfp_mlops.components.monitoring.trigger import RESULT_PREFIX
from kfp_mlops.pipelines.cli.main import main

pytestmark = pytest.mark.slow


def _result(out: str) -> dict:
    return json.loads(next(line for line in out.splitlines() if line.startswith(RESULT_PREFIX))[len(RESULT_PREFIX):])


def test_no_skill_on_95_5_data_is_not_blessed_and_says_why(tmp_path, isolated_home, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(1500, 5)), columns=[f"noise_{i}" for i in range(5)])
    frame["label"] = np.where(rng.random(1500) < 0.05, "rare", "common")
    frame.to_csv(tmp_path / "imbalanced.csv", index=False)
    assert main(["run", "training", "--data", str(tmp_path / "imbalanced.csv"), "--label", "label"]) == 1
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if line.startswith("Not registered: not blessed: ")]
    assert "balanced_accuracy" in line and "no-skill baseline" in line
    assert _result(out)["stopped_by"] == "evaluation gate"


def test_regression_trains_registers_and_promotes_with_the_defaults(tmp_path, isolated_home, capsys):
    from sklearn.datasets import load_diabetes

    load_diabetes(as_frame=True).frame.to_csv(tmp_path / "diabetes.csv", index=False)
    assert main(["run", "training", "--data", str(tmp_path / "diabetes.csv"), "--label", "target"]) == 0
    result = _result(capsys.readouterr().out)
    assert result["promoted"] is True and result["version"] == "v1"
