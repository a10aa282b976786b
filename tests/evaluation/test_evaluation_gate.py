"""The blessing gate: thresholds, the champion from the registry (worse, equal, better), slice floors."""
from __future__ import annotations

import json
import shutil

import pytest

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.evaluation import gate
from kfp_mlops.components.evaluation.evaluate import evaluate_model_dir
from kfp_mlops.components.registry import ChecksumError, open_registry


@pytest.fixture
def registry_with(tmp_path):
    """Returns a function that registers a model directory as the champion of 'penguins'."""
    registry = open_registry(str(tmp_path / "registry"))

    def make(model_dir):
        version = registry.register(str(model_dir), "penguins", {}, {})
        registry.promote("penguins", version.version)
        return registry

    return make


def _evaluate(tmp_path, model_dir, test_path, **options):
    return evaluate_model_dir(model_dir, test_path, "species", tmp_path / "out" / "report.md",
                              tmp_path / "out" / "metrics.json", tmp_path / "out" / "cm.json", **options)


def test_thresholds_alone(tmp_path, penguin_models, penguins_split):
    _, test_path, _ = penguins_split
    strong = _evaluate(tmp_path, penguin_models["strong"], test_path, thresholds={"accuracy": 0.9, "log_loss": 0.5})
    assert strong.blessed is True
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["accuracy"] == strong.evaluation.metrics["accuracy"]
    cm = json.loads((tmp_path / "out" / "cm.json").read_text())
    assert cm["classes"] == ["Adelie", "Chinstrap", "Gentoo"] and len(cm["confusion_matrix"]) == 3
    weak = _evaluate(tmp_path, penguin_models["weak"], test_path, thresholds={"accuracy": 0.9})
    assert weak.blessed is False
    [failure] = weak.verdict.failures
    assert failure.kind == "threshold" and "fails >= 0.9" in failure.reason
    report = (tmp_path / "out" / "report.md").read_text()
    assert "NOT BLESSED" in report and failure.reason in report


def test_lower_is_better_thresholds_are_ceilings():
    checks = gate.check_thresholds({"rmse": 3.0, "r2": 0.5}, {"rmse": 2.5, "r2": 0.4})
    assert [(c.metric, c.passed) for c in checks] == [("r2", True), ("rmse", False)]
    assert "<= 2.5" in checks[1].reason
    with pytest.raises(InputError, match="'accuracy'"):
        gate.check_thresholds({"rmse": 3.0}, {"accuracy": 0.9})


@pytest.mark.parametrize("champion, challenger, blessed", [
    ("strong", "weak", False),    # worse challenger
    ("strong", "strong", True),   # equal: the same files
    ("weak", "strong", True),     # better challenger
])
def test_champion_comparison(tmp_path, penguin_models, penguins_split, registry_with, champion, challenger, blessed):
    _, test_path, _ = penguins_split
    registry_with(penguin_models[champion])
    result = _evaluate(tmp_path, penguin_models[challenger], test_path, thresholds={"accuracy": 0.5},
                       registry_uri=str(tmp_path / "registry"), model_name="penguins", regression_margin=0.01)
    assert result.blessed is blessed
    assert result.champion_version == "v1"
    check = next(c for c in result.verdict.checks if c.kind == "champion")
    # The champion was scored on the same test rows, not read from its registered metrics (none were given).
    assert result.champion.rows == result.evaluation.rows
    assert ("worse than the champion v1" in check.reason) is (champion == "strong" and challenger == "weak")
    assert "champion v1" in (tmp_path / "out" / "report.md").read_text()


def test_margin_tolerates_a_small_regression(tmp_path, penguin_models, penguins_split, registry_with):
    _, test_path, _ = penguins_split
    registry_with(penguin_models["strong"])
    options = dict(registry_uri=str(tmp_path / "registry"), model_name="penguins")
    strict = _evaluate(tmp_path, penguin_models["weak"], test_path, regression_margin=0.0, **options)
    gap = strict.champion.metrics["accuracy"] - strict.evaluation.metrics["accuracy"]
    assert gap > 0 and not strict.blessed
    assert _evaluate(tmp_path, penguin_models["weak"], test_path, regression_margin=gap + 0.001, **options).blessed


def test_no_champion_means_no_comparison(tmp_path, penguin_models, penguins_split):
    _, test_path, _ = penguins_split
    result = _evaluate(tmp_path, penguin_models["weak"], test_path,
                       registry_uri=str(tmp_path / "empty-registry"), model_name="penguins")
    assert result.blessed and result.champion is None
    assert any("no champion" in c.reason for c in result.verdict.checks)


def test_tampered_champion_is_refused(tmp_path, penguin_models, penguins_split, registry_with):
    _, test_path, _ = penguins_split
    registry = registry_with(penguin_models["strong"])
    stored = registry.get("penguins", "champion").path
    shutil.copy(penguin_models["weak"] / "model.skops", f"{stored}/model.skops")
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        _evaluate(tmp_path, penguin_models["strong"], test_path,
                  registry_uri=str(tmp_path / "registry"), model_name="penguins")


def test_slice_floor_failure_names_the_slice(tmp_path, penguin_models, penguins_split):
    _, _, test = penguins_split
    broken = test.copy()
    dream = broken["island"] == "Dream"
    broken.loc[dream, "species"] = broken.loc[dream, "species"].map({"Adelie": "Gentoo", "Chinstrap": "Gentoo",
                                                                      "Gentoo": "Adelie"})
    path = tmp_path / "broken.csv"
    broken.to_csv(path, index=False)
    passing = _evaluate(tmp_path, penguin_models["strong"], penguins_split[1], slice_feature="island",
                        slice_floors={"accuracy": 0.8})
    assert passing.blessed and set(passing.slices) == {"Biscoe", "Dream", "Torgersen"}
    result = _evaluate(tmp_path, penguin_models["strong"], path, slice_feature="island", slice_floors={"accuracy": 0.8})
    assert not result.blessed
    assert [c.reason.split(" ")[0] for c in result.verdict.failures] == ["island=Dream"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Slices by island" in report and "island=Dream" in report.split("## Checks")[0]


def test_slice_floors_need_a_feature(tmp_path, penguin_models, penguins_split):
    with pytest.raises(InputError, match="slice_feature"):
        _evaluate(tmp_path, penguin_models["strong"], penguins_split[1], slice_floors={"accuracy": 0.8})


def test_champion_that_cannot_score_fails_with_reason(tmp_path, penguin_models, penguins_split, registry_with):
    _, _, test = penguins_split
    registry_with(penguin_models["strong"])  # needs the numeric columns
    path = tmp_path / "islands.csv"
    test[["island", "species"]].to_csv(path, index=False)
    result = _evaluate(tmp_path, penguin_models["weak"], path, registry_uri=str(tmp_path / "registry"),
                       model_name="penguins")
    assert not result.blessed
    assert "cannot be compared" in result.verdict.failures[0].reason and "bill_length_mm" in result.verdict.failures[0].reason


def test_regression_champion_comparison_uses_rmse_as_lower_is_better(tmp_path):
    from evaluation_models import save_model
    from sklearn.datasets import load_diabetes
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import Ridge

    data = load_diabetes(as_frame=True).frame
    features = [c for c in data.columns if c != "target"]
    data.iloc[300:].to_csv(tmp_path / "test.csv", index=False)
    ridge = save_model(tmp_path / "ridge", data.iloc[:300], "target", features, [], Ridge(alpha=0.1), "regression")
    dummy = save_model(tmp_path / "dummy", data.iloc[:300], "target", features, [], DummyRegressor(), "regression")
    registry = open_registry(str(tmp_path / "registry"))
    registry.promote("diabetes", registry.register(str(ridge), "diabetes").version)
    options = dict(registry_uri=str(tmp_path / "registry"), model_name="diabetes", regression_margin=1.0)

    def run(model, **extra):
        return evaluate_model_dir(model, tmp_path / "test.csv", "target", tmp_path / "report.md", **options, **extra)

    worse = run(dummy)
    assert not worse.blessed
    failure = next(c for c in worse.verdict.failures if c.kind == "champion")
    assert failure.metric == "rmse" and "worse than the champion v1" in failure.reason
    assert run(ridge, thresholds={"rmse": 80.0, "r2": 0.2}).blessed  # ceilings and floors together
    registry.promote("diabetes", registry.register(str(dummy), "diabetes").version)
    assert run(ridge).blessed  # better than a weak champion
