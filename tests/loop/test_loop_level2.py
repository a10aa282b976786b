"""Close the loop: batch prediction, monitoring decisions, retraining, and the champion gate."""
from pathlib import Path

import pandas as pd
import pytest

from kfp_mlops.components.registry import open_registry
from kfp_mlops.pipelines.batch_prediction import run_batch_prediction
from kfp_mlops.pipelines.demo_data import write_level2_data
from kfp_mlops.pipelines.monitoring import run_monitoring
from kfp_mlops.pipelines.training import run_training


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A registry whose champion was trained on era 1, and the demo's data files."""
    root = tmp_path_factory.mktemp("loop")
    data = write_level2_data(root / "data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KFP_MLOPS_HOME", str(root / "home"))
        run = run_training(str(data.initial), "species", model_name="penguins", log_path=str(root / "t.log"))
    assert run.succeeded and run.output("promote-model"), run.error
    return root, data


@pytest.fixture(autouse=True)
def shared_home(trained, monkeypatch):
    monkeypatch.setenv("KFP_MLOPS_HOME", str(trained[0] / "home"))


def _registry(root):
    return open_registry(str(root / "home" / "registry"))


def test_batch_prediction_scores_with_the_champion(trained, tmp_path):
    root, data = trained
    rows = tmp_path / "rows.csv"
    pd.read_csv(data.initial).sample(200, random_state=2).drop(columns=["species"]).to_csv(rows, index=False)
    # The README's form: no --training-data, no --label; the champion's baseline comes from the registry.
    run = run_batch_prediction(str(rows), model_name="penguins", log_path=str(tmp_path / "l"))
    assert run.succeeded, run.error
    assert "fetch-baseline" in run.tasks
    scored = pd.read_csv(run.tasks["predict-batch"]["predictions"].path)
    assert len(scored) == 200 and set(scored["model_version"]) == {"v1"}
    assert set(scored["prediction"]) <= {"Adelie", "Chinstrap", "Gentoo"}


@pytest.mark.parametrize("change, column", [("drop", "island"), ("skew", "flipper_length_mm")])
def test_batch_prediction_refuses_bad_or_skewed_rows(trained, tmp_path, change, column):
    from kfp_mlops.components.core.anomalies import describe_anomalies

    root, data = trained
    rows = tmp_path / "rows.csv"
    frame = pd.read_csv(data.traffic)  # era 2: skewed against the era-1 training data
    if change == "drop":
        frame = pd.read_csv(data.initial).drop(columns=["species", column])
    frame.to_csv(rows, index=False)
    if change == "drop":  # the override: a training CSV and its label
        run = run_batch_prediction(str(rows), str(data.initial), "penguins", label="species", log_path=str(tmp_path / "l"))
    else:  # the registry's baseline, no label given: before, these rows were scored with max_skew 0.0
        run = run_batch_prediction(str(rows), model_name="penguins", log_path=str(tmp_path / "l"))
    assert run.succeeded and run.output("validate-data") is False
    assert any(line.startswith(column) for line in describe_anomalies(run.tasks["validate-data"]["anomalies"].path))
    assert "predict-batch" not in run.tasks and "fetch-model" not in run.tasks


def test_unshifted_traffic_triggers_no_retraining(trained, tmp_path):
    root, data = trained
    same = tmp_path / "same.csv"
    pd.read_csv(data.initial).sample(300, random_state=1).drop(columns=["species"]).to_csv(same, index=False)
    run = run_monitoring(str(same), model_name="penguins", log_path=str(tmp_path / "l"))
    assert run.succeeded, run.error
    assert run.output("decide-retraining") is False
    assert run.output("check-attribution-drift") is False  # the champion leans on its features as in training
    assert "trigger-retraining" not in run.tasks
    assert _registry(root).get("penguins", "champion").version == "v1"


@pytest.mark.slow  # the same story as `kfp-mlops demo level2`, which the default suite runs
def test_drift_triggers_retraining_and_the_blessed_model_becomes_champion(trained, tmp_path):
    root, data = trained
    # No --training-data and no --label: the drift baseline and the label are the champion's own.
    run = run_monitoring(str(data.traffic), model_name="penguins", new_data_path=str(data.fresh),
                         log_path=str(tmp_path / "l"))
    assert run.succeeded, run.error
    assert run.output("decide-retraining") is True
    report = Path(run.tasks["decide-retraining"]["report"].path).read_text()
    assert "drift above threshold" in report and "flipper_length_mm" in report and "decayed" in report
    assert "registered and promoted to champion" in run.output("trigger-retraining")
    registry = _registry(root)
    assert registry.get("penguins", "champion").version == "v2"
    truth = pd.read_csv(data.traffic_truth)
    new = (registry.load("penguins", "v2").predict(truth) == truth["species"]).mean()
    old = (registry.load("penguins", "v1").predict(truth) == truth["species"]).mean()
    assert new > old + 0.05


@pytest.mark.slow  # the gate against a champion is covered by the evaluation tests and the matrix
def test_a_worse_challenger_never_becomes_champion(trained, tmp_path):
    root, data = trained
    before = _registry(root).get("penguins", "champion").version
    noisy = tmp_path / "noisy.csv"
    frame = pd.read_csv(data.fresh)
    frame["species"] = frame["species"].sample(frac=1.0, random_state=3).values  # shuffled labels: a bad model
    frame.to_csv(noisy, index=False)
    run = run_training(str(noisy), "species", model_name="penguins", log_path=str(tmp_path / "l"))
    assert run.succeeded and run.output("evaluate-model") is False
    assert "register-model" not in run.tasks and "promote-model" not in run.tasks
    assert _registry(root).get("penguins", "champion").version == before

