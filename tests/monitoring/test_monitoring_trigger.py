"""The retraining trigger builds the same CLI command a user would type."""
import pytest

from kfp_mlops.pipelines.cli.main import build_parser
from kfp_mlops.components.monitoring.trigger import training_command

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
