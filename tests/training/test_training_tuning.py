"""Tuning: the Optuna search (defaults as trial 0, pruning, parallel trials), trial containers, Vertex and Katib."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.training.search import tune
from kfp_mlops.components.training.search_space import parse_space
from tests.training.training_helpers import write_schema


def _splits(tmp_path, frame: pd.DataFrame, types: dict[str, str]):
    frame = frame.sample(frac=1.0, random_state=0)
    cut = int(len(frame) * 0.7)
    frame.iloc[:cut].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[cut:].to_csv(tmp_path / "eval.csv", index=False)
    return tmp_path / "train.csv", tmp_path / "eval.csv", write_schema(tmp_path / "schema.pbtxt", types)


@pytest.fixture
def diabetes(tmp_path):
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    return _splits(tmp_path, frame, {c: "FLOAT" for c in frame.columns})


@pytest.fixture
def cancer(tmp_path):
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    return _splits(tmp_path, frame, {c: "FLOAT" for c in frame.columns} | {"target": "BYTES"})


def test_a_parallel_search_on_diabetes_starts_from_the_defaults_and_never_loses_to_them(diabetes):
    train, evaluation, schema = diabetes
    space = {"alpha": {"min": 1e-3, "max": 300.0, "log": True}}
    result = tune(train, evaluation, schema, "target", estimator="linear", space=space, max_trials=8,
                  parallel_trials=2, seed=3)
    assert result.metric == "rmse" and not result.greater_is_better and len(result.trials) == 8
    assert result.trials[0].params == {"alpha": 1.0}  # Ridge's default, trial 0
    assert result.default_score == result.trials[0].score
    assert result.best_score <= result.default_score
    assert result.estimator == "linear" and set(result.hyperparameters) == {"alpha"}
    metrics = result.metrics()
    assert metrics["best_rmse"] == result.best_score and "trial_000_rmse" in metrics
    report = result.to_markdown()
    assert f"| {result.best_trial} (best) |" in report and report.count("| complete |") == result.count("complete")


def test_bad_trials_are_pruned_after_a_partial_fit(cancer):
    train, evaluation, schema = cancer
    space = {"C": {"min": 1e-6, "max": 10.0, "log": True}}  # tiny C: a useless model, pruned early
    result = tune(train, evaluation, schema, "target", estimator="linear", space=space, max_trials=8,
                  parallel_trials=1, seed=0)
    assert result.metric == "log_loss"
    pruned = [t for t in result.trials if t.state == "pruned"]
    assert pruned and all(t.score is None and "pruned after fitting" in t.note for t in pruned)
    assert result.best_score == min(t.score for t in result.trials if t.state == "complete")
    again = tune(train, evaluation, schema, "target", estimator="linear", space=space, max_trials=8,
                 parallel_trials=1, seed=0)
    assert [t.params for t in again.trials] == [t.params for t in result.trials]  # seeded


@pytest.mark.parametrize("space, trainer, message", [
    ({"units": [8]}, "keras", "the Keras trainer takes no hyperparameter(s) units"),
    ({"alpha": []}, "sklearn", "search space field 'alpha' has no choices"),
    ({"alpha": {"min": 0, "max": 1, "log": True}}, "sklearn", "need min < max (and min > 0 with log)"),
    ({"alpha": "big"}, "sklearn", "must be a list of choices"),
])
def test_bad_spaces_name_the_field(space, trainer, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_space(space, trainer)


def test_a_metric_for_the_other_task_is_refused(diabetes):
    with pytest.raises(InputError, match="tuning metric 'accuracy' is for classification"):
        tune(*diabetes, "target", metric="accuracy", max_trials=2)


def test_the_trial_container_reports_for_vertex_and_katib(diabetes, tmp_path, monkeypatch, capsys):
    from kfp_mlops.components.training.trial_main import main, trial_args

    train, evaluation, schema = diabetes
    metrics_file = tmp_path / "hypertune" / "output.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(metrics_file))
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "7")
    space = {"alpha": {"min": 0.001, "max": 100.0, "log": True}, "solver": ["auto", "svd"]}
    args = trial_args("sklearn", str(train), str(evaluation), str(schema), "target", "auto", "linear", space, 1)
    assert main(args + ["--alpha=0.5", "--solver=svd"]) == 0
    records = [json.loads(line) for line in metrics_file.read_text().splitlines()]
    assert records[-1]["trial"] == "7" and float(records[-1]["rmse"]) > 0  # cloudml-hypertune's format
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("rmse=")  # Katib's StdOut collector
    assert main(args + ["--depth=3"]) == 2


def test_vertex_and_katib_trials_become_the_same_result():
    from kfp_mlops.components.training.katib import experiment_manifest
    from kfp_mlops.components.training.service_tuning import result_from_trials, vertex_study_parameters

    dimensions = parse_space({"max_iter": {"min": 10, "max": 90, "type": "int"}, "learning_rate": [0.05, 0.1],
                              "estimator": ["hist_gradient_boosting", "linear"]})
    study = {p["parameter_id"]: p for p in vertex_study_parameters(dimensions)}
    assert study["max_iter"]["integer_value_spec"] == {"min_value": "10", "max_value": "90"}
    assert study["learning_rate"]["discrete_value_spec"] == {"values": [0.05, 0.1]}
    assert study["estimator"]["categorical_value_spec"]["values"] == ["hist_gradient_boosting", "linear"]

    def trial(number, state, values, value):
        return {"id": str(number), "state": state, "parameters": [{"parameter_id": k, "value": v}
                                                                    for k, v in values.items()],
                "final_measurement": {"metrics": [{"metric_id": "rmse", "value": value}] if value else []}}

    trials = [trial(1, "SUCCEEDED", {"max_iter": 20.0, "learning_rate": 0.1, "estimator": "linear"}, 55.0),
              trial(2, "SUCCEEDED", {"max_iter": 80.0, "learning_rate": 0.05, "estimator": "hist_gradient_boosting"},
                    51.5),
              trial(3, "STOPPED", {"max_iter": 30.0}, None)]
    result = result_from_trials(trials, dimensions, "sklearn", "hist_gradient_boosting", "regression", "rmse", False)
    assert (result.best_trial, result.estimator, result.hyperparameters) == (
        1, "hist_gradient_boosting", {"max_iter": 80, "learning_rate": 0.05})
    assert [t.state for t in result.trials] == ["complete", "complete", "pruned"]

    manifest = experiment_manifest("tune-x", "ns", "img:tag", ["--label", "y"], dimensions, "rmse", False, 12, 3)
    spec = manifest["spec"]
    assert manifest["kind"] == "Experiment" and spec["objective"]["type"] == "minimize"
    assert spec["earlyStopping"]["algorithmName"] == "medianstop" and spec["parallelTrialCount"] == 3
    assert {p["name"]: p["parameterType"] for p in spec["parameters"]} == {
        "estimator": "categorical", "learning_rate": "categorical", "max_iter": "int"}
    command = spec["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:3] == ["python3", "-m", "kfp_mlops.components.training.trial_main"]
    assert "--learning_rate=${trialParameters.learningrate}" in command


def test_katib_experiment_is_created_watched_and_read_through_the_kubernetes_api(tmp_path):
    """A loopback Kubernetes API: the Experiment is POSTed, polled until Succeeded, and its Trials listed."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from kfp_mlops.components.core.kubernetes import kubernetes_api_client
    from kfp_mlops.components.training.katib import experiment_manifest, run_experiment

    seen: list[tuple[str, str]] = []
    polls = {"count": 0}
    trial = {"spec": {"parameterAssignments": [{"name": "alpha", "value": "0.5"}]},
             "status": {"conditions": [{"type": "Succeeded", "status": "True"}],
                        "observation": {"metrics": [{"name": "rmse", "latest": "52.5", "max": "60"}]}}}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(("POST", self.path))
            self._answer(body)

        def do_GET(self):  # noqa: N802
            seen.append(("GET", self.path))
            if "/trials" in self.path:
                return self._answer({"items": [trial]})
            polls["count"] += 1
            done = [{"type": "Succeeded", "status": "True"}] if polls["count"] > 1 else []
            return self._answer({"status": {"conditions": done}})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        manifest = experiment_manifest("tune-y", "team", "img:tag", [], parse_space({"alpha": [0.5, 1.0]}), "rmse",
                                       False, 4, 2)
        found = run_experiment(manifest, kubernetes_api_client(f"http://127.0.0.1:{server.server_port}"),
                               timeout_seconds=30, poll_seconds=0.01)
    finally:
        server.shutdown()
    assert seen[0] == ("POST", "/apis/kubeflow.org/v1beta1/namespaces/team/experiments")
    assert polls["count"] == 2 and "labelSelector=katib.kubeflow.org%2Fexperiment%3Dtune-y" in seen[-1][1]
    assert found == [{"id": "0", "state": "SUCCEEDED", "parameters": [{"parameter_id": "alpha", "value": "0.5"}],
                      "final_measurement": {"metrics": [{"metric_id": "rmse", "value": "52.5"}]}}]


@pytest.mark.slow  # a local pipeline run: ingest, validate, then the search
def test_kfp_mlops_tune_runs_the_tuning_pipeline_on_wine(tmp_path, monkeypatch, capsys):
    from sklearn.datasets import load_wine

    from kfp_mlops.pipelines.cli.main import main

    monkeypatch.setenv("KFP_MLOPS_HOME", str(tmp_path / "home"))
    frame = load_wine(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    frame.to_csv(tmp_path / "wine.csv", index=False)
    code = main(["tune", "--data", str(tmp_path / "wine.csv"), "--label", "target", "--trials", "4",
                 "--search-space", json.dumps({"max_iter": {"min": 20, "max": 60, "type": "int"}}),
                 "--result-file", str(tmp_path / "trials.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "# Tuning: best trial" in out and "Default hyperparameters (trial 0)" in out
    trials = json.loads((tmp_path / "trials.json").read_text())
    assert len(trials["trials"]) == 4 and trials["metric"] == "log_loss"


@pytest.mark.slow  # TensorFlow: a few two-epoch trainings
def test_the_keras_trainer_is_tuned_one_trial_at_a_time(cancer):
    result = tune(*cancer, "target", trainer="keras", max_trials=3, parallel_trials=4, seed=1,
                  space={"learning_rate": {"min": 1e-3, "max": 3e-2, "log": True}, "epochs": [2],
                         "hidden_units": ["8", "16,8"]})
    assert result.parallel_trials == 1 and result.estimator == "dnn" and result.metric == "log_loss"
    assert result.trials[0].params["learning_rate"] == 1e-3  # the trainer's default, trial 0
    assert result.best_score <= result.default_score


def test_a_vertex_tuning_job_is_read_through_aiplatform_on_loopback():
    """collect_vertex_tuning's reader: GCPC's gcp_resources names the job; aiplatform fetches its trials."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    from kfp_mlops.components.training.service_tuning import result_from_trials, vertex_trials
    from tests.support.loopback import LoopbackJsonServer

    name = "projects/proj/locations/us-central1/hyperparameterTuningJobs/77"
    job = {"name": name, "displayName": "tune", "state": "JOB_STATE_SUCCEEDED", "trials": [
        {"id": "1", "state": "SUCCEEDED", "parameters": [{"parameterId": "alpha", "value": 0.5}],
         "finalMeasurement": {"metrics": [{"metricId": "rmse", "value": 55.0}]}},
        {"id": "2", "state": "SUCCEEDED", "parameters": [{"parameterId": "alpha", "value": 2.0}],
         "finalMeasurement": {"metrics": [{"metricId": "rmse", "value": 53.0}]}},
        {"id": "3", "state": "INFEASIBLE", "parameters": [{"parameterId": "alpha", "value": 90.0}]}]}

    class FakeJobs(LoopbackJsonServer):
        def route(self, method, path, query, body):
            return (200, job) if method == "GET" and path == f"/v1/{name}" else (404, {"error": path})

    with FakeJobs() as fake:
        aiplatform.init(project="proj", location="us-central1", credentials=AnonymousCredentials(),
                        api_endpoint=fake.url, api_transport="rest")
        resources = json.dumps({"resources": [{"resourceType": "HyperparameterTuningJob",
                                               "resourceUri": f"https://us-central1-aiplatform.googleapis.com/v1/{name}"}]})
        trials = vertex_trials(resources)
    result = result_from_trials(trials, parse_space({"alpha": {"min": 0.1, "max": 100.0, "log": True}}, "sklearn",
                                                    "linear"), "sklearn", "linear", "regression", "rmse", False)
    assert (result.best_score, result.hyperparameters) == (53.0, {"alpha": 2.0})
    assert [t.state for t in result.trials] == ["complete", "complete", "failed"]


@pytest.mark.slow  # the whole training pipeline with a search before the final fit
def test_run_training_tune_records_the_chosen_values_in_the_model(tmp_path, monkeypatch):
    from sklearn.datasets import load_diabetes

    from kfp_mlops.pipelines.training import run_training

    monkeypatch.setenv("KFP_MLOPS_HOME", str(tmp_path / "home"))
    load_diabetes(as_frame=True).frame.to_csv(tmp_path / "diabetes.csv", index=False)
    run = run_training(str(tmp_path / "diabetes.csv"), "target", registry=str(tmp_path / "registry"), tune=True,
                       estimator="random_forest", tuning_trials=3, log_path=str(tmp_path / "log"),
                       tuning_space={"n_estimators": [20, 40], "max_depth": [3, 6]})
    assert run.succeeded, run.error
    summary = run.output("tune-hyperparameters", "summary")
    model = run.tasks["train-sklearn"]["model"].metadata
    assert model["tuning"]["best_trial"] == summary["best_trial"] and summary["trials"] == 3
    assert model["hyperparameters"] == {k: int(v) for k, v in summary["hyperparameters"].items()}
    with open(run.tasks["tune-hyperparameters"]["report"].path) as report:
        assert report.read().startswith("# Tuning: best trial")
