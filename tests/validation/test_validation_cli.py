"""``kfp-mlops validate``: per-column summary, written paths, exit codes 0 / 1 / 2."""
from __future__ import annotations

import argparse

import pandas as pd
import pytest

from kfp_mlops.components.core.tables import bundled_dataset_path
from kfp_mlops.pipelines.cli import validate as validate_cmd


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="kfp-mlops")
    validate_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["validate", *argv])
    return args.func(args)


@pytest.fixture()
def csvs(tmp_path):
    frame = pd.read_csv(bundled_dataset_path()).sample(frac=1.0, random_state=0)
    frame.iloc[:200].to_csv(tmp_path / "base.csv", index=False)
    frame.iloc[200:].to_csv(tmp_path / "same.csv", index=False)
    drifted = frame.iloc[200:].copy()
    drifted["flipper_length_mm"] = drifted["flipper_length_mm"] + 40
    drifted.loc[drifted.index[:5], "island"] = "Atlantis"
    drifted.drop(columns=["sex"]).to_csv(tmp_path / "drifted.csv", index=False)
    return tmp_path


def test_clean_data_exits_0(csvs, capsys):
    assert _run("--data", str(csvs / "same.csv"), "--baseline", str(csvs / "base.csv"),
                "--out", str(csvs / "out")) == 0
    out = capsys.readouterr().out
    assert "validation passed" in out
    assert (csvs / "out" / "schema.pbtxt").is_file() and (csvs / "out" / "report.html").is_file()
    assert f"report      {csvs / 'out' / 'report.html'}" in out


def test_anomalies_exit_1_and_name_the_columns(csvs, capsys):
    code = _run("--data", str(csvs / "drifted.csv"), "--baseline", str(csvs / "base.csv"),
                "--out", str(csvs / "out"))
    captured = capsys.readouterr()
    assert code == 1
    rows = {line.split()[0]: line for line in captured.out.splitlines() if line.startswith("  ") and line.split()}
    assert "drift (jensen_shannon" in rows["flipper_length_mm"]
    assert "new values 'Atlantis'" in rows["island"]
    assert "missing column" in rows["sex"]
    assert rows["bill_length_mm"].rstrip().endswith("ok")
    assert "validation FAILED" in captured.err and "flipper_length_mm, island, sex" in captured.err


def test_curated_schema_is_used(csvs, capsys):
    schema = csvs / "schema.pbtxt"
    schema.write_text('feature { name: "flipper_length_mm" type: INT int_domain { min: 150 max: 240 } }\n')
    code = _run("--data", str(csvs / "drifted.csv"), "--schema", str(schema), "--out", str(csvs / "out"))
    out = capsys.readouterr().out
    assert code == 1
    assert "out of range (max" in out and "unexpected column (not in the schema)" in out


def test_bad_input_exits_2_with_one_line(csvs, capsys):
    (csvs / "ragged.csv").write_text("a,b\n1,2\n3\n")
    assert _run("--data", str(csvs / "ragged.csv"), "--out", str(csvs / "out")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"kfp-mlops validate: error: {csvs / 'ragged.csv'} is not a well-formed CSV: "
                   "line 3 has 1 fields, but the header has 2 columns"]
    assert _run("--data", str(csvs / "same.csv"), "--schema", str(csvs / "nope.pbtxt"),
                "--out", str(csvs / "out")) == 2
    assert "schema file not found" in capsys.readouterr().err
