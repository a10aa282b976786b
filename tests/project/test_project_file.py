"""The project file: checked against the shipped JSON Schema, expanded into deployments, planned against a state."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.pipelines.project import load_project, make_plan, project_schema
from kfp_mlops.pipelines.project.plan import differences

EXAMPLE = Path(__file__).resolve().parents[2] / "pipelines" / "project" / "examples" / "fleet.yaml"


def _write(tmp_path: Path, document: dict, name: str = "project.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_the_schema_is_valid_and_the_example_follows_it():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(project_schema())
    project = load_project(EXAMPLE)
    assert [d.key for d in project.deployments] == ["penguins@local", "diabetes@local", "breast-cancer@local"]
    penguins, diabetes, cancer = project.deployments
    assert penguins.settings["trainer"] == {"type": "sklearn", "estimator": "hist_gradient_boosting",
                                            "hyperparameters": {"max_iter": 60}}
    assert diabetes.settings["trainer"]["hyperparameters"] == {"n_estimators": 60, "min_samples_leaf": 5}
    assert cancer.settings["monitoring"] == {"schedule": "30 */6 * * *", "drift_threshold": 0.15,
                                             "max_metric_drop": 0.05}  # the defaults, merged key by key
    assert diabetes.schedules() == {"training": "TZ=Europe/Paris 0 3 * * 1", "monitoring": "0 * * * *"}
    from kfp_mlops.pipelines.project.parameters import compile_options, training_parameters

    assert compile_options(penguins) == {"trainer": "sklearn", "import_schema": False, "tune": True}
    tuning = {k: v for k, v in training_parameters(penguins).items() if k.startswith("tuning_")}
    assert tuning == {"tuning_space": {"learning_rate": {"min": 0.01, "max": 0.3, "log": True},
                                       "max_leaf_nodes": {"min": 8, "max": 64, "type": "int"}},
                      "tuning_trials": 6, "tuning_parallelism": 2, "tuning_metric": "balanced_accuracy"}
    assert "tune" not in compile_options(diabetes) and "tuning_trials" not in training_parameters(diabetes)
    assert len({d.config_hash for d in project.deployments}) == 3


@pytest.mark.parametrize("change, message", [
    ({"models": []}, r"models: \[\] should be non-empty"),
    ({"models": [{"name": "a"}]}, r"models\[0\]: 'data' is a required property"),
    ({"models": [{"name": "a", "data": {"source": "x.csv"}, "trainer": {"type": "xgboost"}}]},
     r"models\[0\]\.trainer\.type: 'xgboost' is not one of \['sklearn', 'keras'\]"),
    ({"models": [{"name": "a", "data": {"source": "penguins"}, "gate": {"thresholds": {"accuracy": "high"}}}]},
     r"models\[0\]\.gate\.thresholds\.accuracy: 'high' is not of type 'number'"),
    ({"models": [{"name": "a", "data": {"source": "penguins"}, "targets": ["vertex"]}]},
     r"targets\[0\]: 'vertex' is not one of \['local'\] \(Vertex AI and Kubeflow deployments are environments"),
    ({"models": [{"name": "a", "data": {"source": "penguins"}, "trainr": {}}]}, r"'trainr' was unexpected"),
    ({"models": [{"name": "a", "data": {"source": "x.csv"}}]}, r"models\[0\]\.data\.label: required"),
    ({"models": [{"name": "a", "data": {"source": "penguins"}, "monitoring": {"schedule": "every hour!"}}]},
     r"models\[0\]\.monitoring\.schedule: 'every hour!' is not a cron expression"),
    ({"models": [{"name": "a", "data": {"source": "penguins"}}] * 2}, r"models\[1\]\.name: 'a' is declared twice"),
    ({"models": [{"name": "a", "data": {"source": "penguins"}, "environments": ["dev"]}]},
     r"set environments_file"),
])
def test_a_bad_file_is_one_line_naming_the_field(tmp_path, change, message):
    path = _write(tmp_path, {"project": "p", **change})
    with pytest.raises(InputError, match=message) as raised:
        load_project(path)
    assert str(raised.value).startswith(str(path)) and "\n" not in str(raised.value)


def test_the_cli_refuses_a_bad_file_with_exit_code_2(tmp_path, capsys):
    from kfp_mlops.pipelines.cli.main import main

    assert main(["plan", str(_write(tmp_path, {"project": "p", "models": [{"name": "a"}]}))]) == 2
    assert "'data' is a required property" in capsys.readouterr().err
    assert main(["plan", str(tmp_path / "missing.yaml")]) == 2


def test_plan_names_what_changed_and_schedule_only_changes(tmp_path):
    document = yaml.safe_load(EXAMPLE.read_text())
    path = _write(tmp_path, document)
    plan = make_plan(load_project(path))
    assert [c.action for c in plan.changes] == ["create"] * 3
    assert plan.summary() == "Plan: 3 to create, 0 to update, 0 schedule change(s), 0 to remove, 0 unchanged."
    # Pretend penguins and diabetes were applied as they are, and an old model too.
    project = load_project(path)
    for deployment in project.deployments[:2] + [project.deployments[2]]:
        plan.state.update(deployment.key, lambda r, d=deployment: r.update(
            config_hash=d.config_hash, settings=d.settings, schedules=d.schedules()))
    plan.state.update("retired@local", lambda r: r.update(config_hash="x", settings={}))
    document["models"][0]["gate"]["thresholds"]["accuracy"] = 0.95
    document["models"][1]["training"]["schedule"] = "0 4 * * 1"
    document["models"][2]["data"]["label"] = "target"  # the same value, written out: no change
    plan = make_plan(load_project(_write(tmp_path, document)))
    assert [(c.key, c.action, c.details) for c in plan.changes] == [
        ("penguins@local", "update", ["gate.thresholds.accuracy: 0.9 -> 0.95"]),
        ("diabetes@local", "schedule", ["training.schedule: 'TZ=Europe/Paris 0 3 * * 1' -> '0 4 * * 1'"]),
        ("breast-cancer@local", "unchanged", []),
        ("retired@local", "remove", ["not in the project file"])]
    assert "~ penguins@local" in "\n".join(plan.lines())


def test_differences_walk_nested_settings():
    assert differences({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "d": 3}}) == ["a.c: 2 -> none", "a.d: none -> 3"]


def test_a_damaged_or_foreign_state_file_is_refused(tmp_path):
    path = _write(tmp_path, {"project": "p", "state": "state.json", "models": [{"name": "a", "data": {"source": "penguins"}}]})
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(InputError, match="state.json cannot be read"):
        make_plan(load_project(path))
    (tmp_path / "state.json").write_text(json.dumps({"project": "other", "deployments": {}}))
    with pytest.raises(InputError, match="belongs to project 'other'"):
        make_plan(load_project(path))


def test_bundled_sklearn_datasets_resolve_by_name_with_their_label(tmp_path):
    import argparse

    import pandas as pd

    from kfp_mlops.pipelines.datasets import resolve_dataset_names

    args = argparse.Namespace(command="run", pipeline="training", data="breast_cancer", label="")
    resolve_dataset_names(args)
    frame = pd.read_csv(args.data)
    assert args.label == "target" and frame.shape == (569, 31) and "mean radius" in frame.columns
    assert 0.3 < frame["target"].mean() < 0.7 and frame["target"].value_counts().min() == 212  # imbalanced
    again = argparse.Namespace(data="breast_cancer", label="")
    resolve_dataset_names(again)
    assert again.data == args.data


def test_a_missing_or_broken_project_file_is_one_line_naming_it(tmp_path):
    with pytest.raises(InputError, match=r"^project file not found: .*nope\.yaml$"):
        load_project(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("models: [\n")
    with pytest.raises(InputError) as error:
        load_project(broken)
    assert str(error.value).startswith(f"{broken}: not a readable YAML file (") and "\n" not in str(error.value)
