"""Small CLI breakages, each fixed: broken pipes, dry runs, the demo's folder, notebook logs, plurals."""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kfp_mlops.pipelines.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path):
    """`kfp-mlops models list --json | head`: the CLI ends quietly when its reader has gone."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KFP_MLOPS_HOME": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "kfp_mlops.pipelines.cli.main", "models", "list", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    process.stdout.close()  # the reader is gone before the CLI writes
    error = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0, error
    assert "Traceback" not in error and "BrokenPipe" not in error


def test_submit_dry_run_shows_the_destination_and_leaves_no_temporary_folder(tmp_path, monkeypatch, capsys):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert main(["submit", "batch-prediction", "--target", "kfp", "--host", "http://127.0.0.1:9",
                 "--namespace", "team-a", "--dry-run", "--param", "data_path=gs://b/new.csv",
                 "--param", "model_name=penguins", "--param", "registry_uri=gs://b/registry",
                 "--param", "training_data_path=gs://b/train.csv"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["host"] == "http://127.0.0.1:9" and out["namespace"] == "team-a"
    assert out["package"] == "batch-prediction.yaml" and out["compiled_here"] is True
    assert list(scratch.iterdir()) == []
    assert main(["submit", "batch-prediction", "--target", "vertex", "--project", "my-project", "--region",
                 "europe-west4", "--pipeline-root", "gs://b", "--dry-run", "--param", "data_path=gs://b/new.csv",
                 "--param", "model_name=penguins", "--param", "registry_uri=gs://b/registry",
                 "--param", "training_data_path=gs://b/train.csv"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["project"], out["region"], out["pipeline_root"]) == ("my-project", "europe-west4", "gs://b")
    assert list(scratch.iterdir()) == []


def test_the_demo_keeps_its_folder_so_printed_paths_stay_valid(monkeypatch, isolated_home, capsys):
    from kfp_mlops.pipelines import demo

    def story(workdir, say):
        log = Path(workdir) / "home" / "prediction-log"
        log.mkdir(parents=True)
        (log / "part-0.jsonl").write_text("{}\n")
        say(f"logged to {log}")
        return {}

    monkeypatch.setattr(demo, "run_level2_demo", story)
    assert main(["demo", "level2"]) == 0
    printed = capsys.readouterr().out
    log = Path(printed.split("logged to ")[1].split("\n")[0])
    assert (log / "part-0.jsonl").is_file()  # still there after the command ended
    assert str(isolated_home) in str(log)


def test_notebooks_write_their_logs_under_the_home_not_beside_the_notebook():
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            source = "".join(cell["source"])
            assert 'log_path="' not in source, f"{notebook.name}: a relative log path lands in the tree"


def test_messages_count_anomalies_in_good_english():
    from kfp_mlops.components.core.wording import plural

    assert plural(1, "anomaly", "anomalies") == "1 anomaly"
    assert plural(2, "anomaly", "anomalies") == "2 anomalies"
    assert plural(0, "column") == "0 columns" and plural(1.0, "column") == "1 column"


def test_validate_says_one_anomaly(tmp_path, capsys):
    baseline = tmp_path / "base.csv"
    baseline.write_text("x,y\n" + "".join(f"{i},{'a' if i % 2 else 'b'}\n" for i in range(50)))
    data = tmp_path / "new.csv"
    data.write_text("x,y\n" + "".join(f"{i},{'a' if i % 2 else 'b'}\n" for i in range(50)) + "3,zzz\n")
    code = main(["validate", "--data", str(data), "--baseline", str(baseline), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    report = (tmp_path / "out" / "report.html").read_text()
    assert code == 1
    assert "validation FAILED: 1 anomaly in column y" in captured.err
    assert "FAILED with 1 anomaly" in captured.out and "1 anomalies" not in captured.out
    assert "FAILED</b>: 1 anomaly in 1 column." in report


def _penguin_files(tmp_path):
    import pandas as pd

    from kfp_mlops.components.core.tables import bundled_dataset_path

    frame = pd.read_csv(bundled_dataset_path()).dropna()
    labelled, serving = tmp_path / "train.csv", tmp_path / "serving.csv"
    frame.to_csv(labelled, index=False)
    frame.drop(columns=["species"]).head(60).to_csv(serving, index=False)
    return labelled, serving


def test_validate_checks_unlabelled_serving_rows_against_a_labelled_schema(tmp_path, capsys):
    labelled, serving = _penguin_files(tmp_path)
    # Infer a schema from the labelled rows, with no environments (no --label).
    assert main(["validate", "--data", str(labelled), "--out", str(tmp_path / "schema")]) == 0
    schema = tmp_path / "schema" / "schema.pbtxt"
    capsys.readouterr()
    # Without an environment, the missing label is an anomaly.
    assert main(["validate", "--data", str(serving), "--schema", str(schema), "--out", str(tmp_path / "a")]) == 1
    assert "species" in capsys.readouterr().err
    # --label with --schema keeps the label out of SERVING; --environment SERVING checks the rest.
    assert main(["validate", "--data", str(serving), "--schema", str(schema), "--label", "species",
                 "--environment", "serving", "--out", str(tmp_path / "b")]) == 0
    assert 'not_in_environment: "SERVING"' in (tmp_path / "b" / "schema.pbtxt").read_text()
    assert schema.read_text() == (tmp_path / "schema" / "schema.pbtxt").read_text()  # the user's file is untouched
    # SERVING still checks the features: a column gone missing fails.
    import pandas as pd

    pd.read_csv(serving).drop(columns=["island"]).to_csv(tmp_path / "no-island.csv", index=False)
    assert main(["validate", "--data", str(tmp_path / "no-island.csv"), "--schema", str(schema), "--label", "species",
                 "--environment", "SERVING", "--out", str(tmp_path / "c")]) == 1
    assert "island" in capsys.readouterr().err


def test_a_label_missing_from_the_given_schema_is_bad_input(tmp_path, capsys):
    labelled, serving = _penguin_files(tmp_path)
    assert main(["validate", "--data", str(labelled), "--out", str(tmp_path / "schema")]) == 0
    assert main(["validate", "--data", str(serving), "--schema", str(tmp_path / "schema" / "schema.pbtxt"),
                 "--label", "kind", "--environment", "SERVING", "--out", str(tmp_path / "b")]) == 2
    assert "label column 'kind' is not a feature of" in capsys.readouterr().err


def test_the_bundled_dataset_has_a_name_every_command_accepts(tmp_path, isolated_home, capsys):
    import argparse

    from kfp_mlops.pipelines.datasets import resolve_dataset_names

    args = argparse.Namespace(command="run", pipeline="batch-prediction", data="penguins",
                              training_data="penguins", label="")
    resolve_dataset_names(args)
    assert args.data == args.training_data == str(isolated_home / "datasets" / "penguins.csv")
    assert args.label == "species" and "python3" not in args.data
    training = argparse.Namespace(command="run", pipeline="training", data="", label="")
    resolve_dataset_names(training)  # the default data: the same copy, a path every command accepts
    assert training.data == args.data and training.label == "species"
    mine = tmp_path / "penguins"
    mine.write_text("a,b\n1,2\n")
    own = argparse.Namespace(command="validate", data=str(mine), baseline=None, label="")
    resolve_dataset_names(own)
    assert own.data == str(mine) and own.label == ""  # a real path is never replaced
    assert main(["validate", "--data", "penguins", "--out", str(tmp_path / "v")]) == 0
    assert "344 rows" in capsys.readouterr().out


def test_the_drift_report_overlays_baseline_and_current_per_column_with_axes(tmp_path):
    import random

    rng = random.Random(0)
    baseline, current = tmp_path / "base.csv", tmp_path / "now.csv"
    baseline.write_text("x,y\n" + "".join(f"{rng.gauss(0, 1):.3f},{rng.choice('abb')}\n" for _ in range(300)))
    current.write_text("x,y\n" + "".join(f"{rng.gauss(3, 1):.3f},{rng.choice('aab')}\n" for _ in range(300)))
    assert main(["validate", "--data", str(current), "--baseline", str(baseline), "--out", str(tmp_path / "o")]) == 1
    report = (tmp_path / "o" / "report.html").read_text()
    assert report.count(": baseline and current distributions</title>") == 2  # one chart per column
    assert ">density<" in report and ">share of rows<" in report  # y axes
    assert ">baseline<" in report and ">current<" in report  # legends
    x_chart = report.split("<title>x: baseline and current distributions</title>")[1].split("</svg>")[0]
    assert x_chart.count("fill='#9aa4b2'") > 3 and x_chart.count("fill='#2f6fdb'") > 3  # both histograms drawn


def test_report_prints_a_runs_reports_with_their_extensions(tmp_path, isolated_home, capsys):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_pipelines_local_files import reports

    from kfp_mlops.pipelines import local_runner

    run = local_runner.run_pipeline(reports, {}, progress=False, log_path=tmp_path / "l.log")
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert f"Run {run.run_name} (reports-probe, succeeded" in out
    for name in ("html.html", "markdown.md", "rows.csv"):
        line = next(line for line in out.splitlines() if line.rstrip().endswith(name))
        assert Path(line.split()[-1]).is_file()
    assert main(["report", "no-such-run"]) == 2
    assert "no run match" in capsys.readouterr().err
