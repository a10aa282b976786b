"""The retraining trigger builds the same CLI command a user would type."""
import pytest

from kfp_mlops.components.monitoring.trigger import training_command
from kfp_mlops.pipelines.cli.main import build_parser

PARAMS = {"data_path": "/d/new.csv", "label": "species", "model_name": "penguins", "registry_uri": "/r"}


def test_local_target_runs_training_through_the_cli():
    command = training_command("local", PARAMS)
    assert command[1:3] == ["-m", "kfp_mlops.pipelines.cli.main"]
    args = build_parser().parse_args(command[3:])
    assert (args.pipeline, args.data, args.label, args.model_name, args.registry) == \
        ("training", "/d/new.csv", "species", "penguins", "/r")


def test_remote_targets_submit_with_parameters_and_bare_boolean_flags():
    command = training_command("vertex", PARAMS, {"project": "p", "region": "us-central1",
                                                  "pipeline_root": "gs://b/root", "wait": True, "no_cache": False})
    args = build_parser().parse_args(command[3:])
    assert args.target == "vertex" and args.project == "p" and args.wait is True
    assert "--no-cache" not in command
    assert "data_path=/d/new.csv" in command and "model_name=penguins" in command


def test_no_data_window_is_a_clear_error():
    with pytest.raises(ValueError, match="no new data window"):
        training_command("local", {"label": "species"})


def test_the_cli_writes_its_outcome_to_the_result_file_the_trigger_names():
    command = training_command("local", PARAMS, result_file="/tmp/r.json")
    assert build_parser().parse_args(command[3:]).result_file == "/tmp/r.json"
    command = training_command("kfp", PARAMS, {"host": "http://h"}, result_file="/tmp/r.json")
    assert build_parser().parse_args(command[3:]).result_file == "/tmp/r.json"


def test_the_ledger_retrains_a_window_once_and_keeps_a_cooldown(tmp_path):
    from kfp_mlops.components.monitoring.trigger import RetrainingLedger, RetrainingOutcome, window_key

    window = tmp_path / "new.csv"
    window.write_text("x,y\n1,2\n")
    key = window_key("penguins", str(window))
    ledger = RetrainingLedger(tmp_path / "ledger.json")
    assert ledger.claim("penguins", key, cooldown_seconds=600, now=1000.0) is None
    assert "is running" in ledger.claim("penguins", key, cooldown_seconds=0, now=1010.0)
    ledger.finish("penguins", key, RetrainingOutcome("promoted", "penguins", "v2"))
    assert "on this window 20 s ago (cooldown 600 s)" in ledger.claim("penguins", key, cooldown_seconds=600, now=1020.0)
    window.write_text("x,y\n1,3\n")  # new content at the same path: a new window, still within the cooldown
    other = window_key("penguins", str(window))
    assert other != key
    assert "on another window" in ledger.claim("penguins", other, cooldown_seconds=600, now=1030.0)
    assert ledger.claim("iris", other, cooldown_seconds=600, now=1030.0) is None  # other models are not held up
    assert ledger.claim("penguins", other, cooldown_seconds=600, now=2000.0) is None  # after the cooldown
    assert RetrainingOutcome("promoted", "penguins", "v2").line() == \
        "retrained: penguins v2 registered and promoted to champion"


def test_a_damaged_ledger_is_one_line(tmp_path):
    from kfp_mlops.components.monitoring.trigger import RetrainingLedger

    (tmp_path / "ledger.json").write_text("{}")
    with pytest.raises(RuntimeError, match="ledger.json: the retraining ledger is not a JSON list"):
        RetrainingLedger(tmp_path / "ledger.json").claim("m", "k", 0)
