"""Tuning: trial lists from a space, per-trial scores, best-trial choice, and the sub-pipeline under kfp.local."""

import numpy as np
import pandas as pd
import pytest
from training_helpers import write_schema

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.images import DEFAULT_TAG
from kfp_mlops.components.training.tuning import make_trial_list, run_trial, score_model, select_best


@pytest.fixture
def xor_data(tmp_path):
    """A label that is the XOR of two signs: depth-1 trees cannot learn it, deeper trees can."""
    rng = np.random.default_rng(3)
    a, b = rng.uniform(-1, 1, 400), rng.uniform(-1, 1, 400)
    frame = pd.DataFrame({"a": a, "b": b, "y": np.where((a > 0) ^ (b > 0), "yes", "no")})
    frame.iloc[:300].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[300:].to_csv(tmp_path / "eval.csv", index=False)
    write_schema(tmp_path / "schema.pbtxt", {"a": "FLOAT", "b": "FLOAT", "y": "BYTES"})
    return tmp_path / "train.csv", tmp_path / "eval.csv", tmp_path / "schema.pbtxt"


def test_grid_is_the_full_product_and_bounded_by_max_trials():
    space = {"estimator": ["random_forest", "linear"], "max_depth": [2, 4, 8]}
    trials = make_trial_list(space, "grid", max_trials=10)
    # linear takes no max_depth: its three grid points are one trial
    assert len(trials) == 4 and [t["trial"] for t in trials] == list(range(4))
    assert {(t["estimator"], t["hyperparameters"].get("max_depth")) for t in trials} == {
        ("random_forest", 2), ("random_forest", 4), ("random_forest", 8), ("linear", None)}
    space["max_depth"] = [1, 2, 3, 4, 5, 6]
    sampled = make_trial_list(space, "grid", max_trials=4, seed=1)
    assert len(sampled) == 4 and sampled == make_trial_list(space, "grid", max_trials=4, seed=1)


def test_random_draws_distinct_seeded_trials_from_ranges():
    space = {"learning_rate": {"min": 0.01, "max": 0.3, "log": True}, "max_iter": {"min": 10, "max": 90, "type": "int"}}
    trials = make_trial_list(space, "random", max_trials=5, seed=7)
    assert trials == make_trial_list(space, "random", max_trials=5, seed=7)
    assert trials != make_trial_list(space, "random", max_trials=5, seed=8)
    for trial in trials:
        params = trial["hyperparameters"]
        assert 0.01 <= params["learning_rate"] <= 0.3 and isinstance(params["max_iter"], int)
        assert trial["estimator"] == "hist_gradient_boosting"
    assert len(make_trial_list({"max_depth": [1, 2]}, "random", max_trials=8)) == 2  # only 2 distinct points


@pytest.mark.parametrize("space,strategy,max_trials,message", [
    ({"max_depth": [1]}, "bayes", 2, "unknown search strategy 'bayes'"),
    ({"alpha": {"min": 0.1, "max": 1.0}}, "grid", 2, "'alpha' is a range; grid search needs a list"),
    ({"max_depth": []}, "grid", 2, "'max_depth' has no choices"),
    ({"max_depth": [1]}, "grid", 0, "max_trials must be between 1 and 100"),
    ({}, "grid", 2, "search space is empty"),
    ({"estimator": ["linear"], "max_depth": [2]}, "grid", 2, "no estimator in the search takes hyperparameter.*max_depth"),
])
def test_bad_spaces_name_the_field(space, strategy, max_trials, message):
    with pytest.raises(InputError, match=message):
        make_trial_list(space, strategy, max_trials)


def test_select_best_follows_the_metric_direction(xor_data, tmp_path):
    train, evaluation, schema = xor_data
    dirs, metas, scores = [], [], []
    for index, depth in enumerate([1, 6]):
        trial = {"trial": index, "estimator": "random_forest", "hyperparameters": {"max_depth": depth, "n_estimators": 20}}
        score, meta = run_trial(train, evaluation, schema, tmp_path / f"t{index}", "y", trial, metric="log_loss")
        dirs.append(tmp_path / f"t{index}")
        metas.append(meta)
        scores.append(score)
    summary, metadata = select_best(scores[::-1], dirs, metas, "log_loss", tmp_path / "best")  # order-independent
    assert summary["trial"] == 1 and summary["score"] == min(scores)  # lower log loss wins
    assert summary["scores"] == scores and metadata["hyperparameters"]["max_depth"] == 6
    assert score_model(tmp_path / "best", evaluation, "log_loss") == pytest.approx(min(scores))
    with pytest.raises(InputError, match="do not match"):
        select_best([0.1, 0.2], dirs, metas, "log_loss", tmp_path / "x")
    with pytest.raises(InputError, match="metric 'rmse' is for regression"):
        score_model(tmp_path / "best", evaluation, "rmse")


@pytest.mark.slow  # a whole ParallelFor run; its steps are tested one by one above
def test_tuning_sub_pipeline_runs_locally_and_picks_the_best_trial(xor_data, tmp_path):
    from kfp import dsl

    from kfp_mlops.components.core.model_io import load_model
    from kfp_mlops.pipelines.local_runner import run_pipeline
    from kfp_mlops.pipelines.tuning import tune_sklearn

    train, evaluation, schema = xor_data

    @dsl.pipeline(name="tuning-test")
    def pipeline(train_uri: str, eval_uri: str, schema_uri: str) -> dict:
        train_data = dsl.importer(artifact_uri=train_uri, artifact_class=dsl.Dataset)
        eval_data = dsl.importer(artifact_uri=eval_uri, artifact_class=dsl.Dataset)
        schema_file = dsl.importer(artifact_uri=schema_uri, artifact_class=dsl.Artifact)
        tuned = tune_sklearn(train=train_data.output, eval=eval_data.output, schema=schema_file.output, label="y",
                             space={"estimator": ["linear", "random_forest"], "max_depth": [1, 8]},
                             strategy="grid", max_trials=4, metric="accuracy")
        return tuned.outputs["best_params"]

    run = run_pipeline(pipeline, {"train_uri": str(train), "eval_uri": str(evaluation), "schema_uri": str(schema)},
                       root=tmp_path / "root", enable_caching=False, progress=False, log_path=tmp_path / "log.txt")
    assert run.succeeded, run.error
    best = run.output("select-best-trial")
    assert len(best["scores"]) == 3  # linear once, random_forest at depths 1 and 8
    assert best["score"] == max(best["scores"]) > 0.9
    assert best["estimator"] == "random_forest" and best["hyperparameters"]["max_depth"] == 8
    model = run.output("select-best-trial", "best_model")
    assert model.metadata["score"] == best["score"]
    assert load_model(model.path).contract.framework == "sklearn"
    assert score_model(model.path, evaluation, "accuracy") == pytest.approx(best["score"])


def test_tuning_sub_pipeline_compiles_inside_a_condition(tmp_path):
    import yaml
    from google.protobuf import json_format
    from kfp import compiler, dsl
    from kfp.pipeline_spec import pipeline_spec_pb2

    from kfp_mlops.pipelines.tuning import tune_sklearn

    @dsl.pipeline(name="tuning-compile")
    def pipeline(train_uri: str, eval_uri: str, schema_uri: str, enable: bool = True):
        train_data = dsl.importer(artifact_uri=train_uri, artifact_class=dsl.Dataset)
        eval_data = dsl.importer(artifact_uri=eval_uri, artifact_class=dsl.Dataset)
        schema_file = dsl.importer(artifact_uri=schema_uri, artifact_class=dsl.Artifact)
        with dsl.If(enable == True):  # noqa: E712
            tune_sklearn(train=train_data.output, eval=eval_data.output, schema=schema_file.output, label="y")

    path = tmp_path / "tuning.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    spec = yaml.safe_load(path.read_text())
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())
    tune = spec["components"]["comp-tune-sklearn"]["dag"]["tasks"]
    loop = next(name for name in tune if name.startswith("for-loop"))
    assert {"make-trials", "select-best-trial"} <= set(tune)
    assert tune[loop]["parameterIterator"]["items"]["inputParameter"].startswith("pipelinechannel--make-trials")
    assert spec["deploymentSpec"]["executors"]["exec-train-trial"]["container"]["image"].endswith(f"/kfp-mlops-core:{DEFAULT_TAG}")
