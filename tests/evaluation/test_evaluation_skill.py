"""The gate can't be fooled: no skill on imbalanced data, task-dependent defaults, a statistical champion check."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evaluation_models import save_model

from kfp_mlops.components.core.errors import InputError
from kfp_mlops.components.evaluation import bootstrap, gate
from kfp_mlops.components.evaluation.evaluate import evaluate_model_dir
from kfp_mlops.components.registry import open_registry
from kfp_mlops.pipelines.training import DEFAULT_THRESHOLDS

NOISE = [f"noise_{i}" for i in range(5)]


def _imbalanced(rows: int, seed: int) -> pd.DataFrame:
    """95/5 labels and five noise features that say nothing about them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, len(NOISE))), columns=NOISE)
    frame["label"] = np.where(rng.random(rows) < 0.05, "rare", "common")
    return frame


def _evaluate(tmp_path, model_dir, test: pd.DataFrame, label: str, train: pd.DataFrame | None = None, **options):
    test.to_csv(tmp_path / "test.csv", index=False)
    if train is not None:
        train.to_csv(tmp_path / "train.csv", index=False)
        options["train_path"] = tmp_path / "train.csv"
    return evaluate_model_dir(model_dir, tmp_path / "test.csv", label, tmp_path / "out" / "report.md", **options)


def test_a_model_with_no_skill_on_95_5_data_is_not_blessed(tmp_path):
    from sklearn.ensemble import RandomForestClassifier

    train, test = _imbalanced(1500, 0), _imbalanced(600, 1)
    model = save_model(tmp_path / "m", train, "label", NOISE, [], RandomForestClassifier(n_estimators=30, random_state=0))
    result = _evaluate(tmp_path, model, test, "label", train, thresholds=DEFAULT_THRESHOLDS)
    assert result.evaluation.metrics["accuracy"] > 0.93  # looks good ...
    assert result.evaluation.metrics["balanced_accuracy"] < 0.53  # ... and is no better than a coin
    assert not result.blessed
    [failure] = result.verdict.failures
    assert failure.kind == "skill" and failure.metric == "balanced_accuracy"
    assert "no-skill baseline (always 'common', the training majority" in failure.reason and "CI" in failure.reason
    assert result.verdict.summary().startswith("not blessed: balanced_accuracy = ")
    report = (tmp_path / "out" / "report.md").read_text()
    assert "NOT BLESSED" in report and "Against a no-skill baseline" in report


def test_real_skill_under_80_percent_accuracy_is_blessed_with_default_thresholds(tmp_path):
    """No fixed accuracy >= 0.8: a model whose best reachable accuracy is ~0.75 passes on skill."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(2000, 2)), columns=["x", "z"])
    frame["label"] = np.where(frame["x"] + rng.normal(scale=1.5, size=2000) > 0, "yes", "no")
    model = save_model(tmp_path / "m", frame.iloc[:1400], "label", ["x", "z"], [], LogisticRegression())
    result = _evaluate(tmp_path, model, frame.iloc[1400:], "label", frame.iloc[:1400], thresholds=DEFAULT_THRESHOLDS)
    assert 0.6 < result.evaluation.metrics["accuracy"] < 0.8
    assert result.blessed, result.verdict.summary()


def test_regression_has_no_accuracy_threshold_and_must_beat_the_mean(tmp_path):
    from sklearn.datasets import load_diabetes
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import Ridge

    data = load_diabetes(as_frame=True).frame
    features = [c for c in data.columns if c != "target"]
    train, test = data.iloc[:300], data.iloc[300:]
    ridge = save_model(tmp_path / "ridge", train, "target", features, [], Ridge(alpha=0.1), "regression")
    good = _evaluate(tmp_path, ridge, test, "target", train, thresholds=DEFAULT_THRESHOLDS)
    assert good.blessed, good.verdict.summary()
    assert "the training mean" in good.verdict.checks[0].reason
    dummy = save_model(tmp_path / "dummy", train, "target", features, [], DummyRegressor(), "regression")
    bad = _evaluate(tmp_path, dummy, test, "target", train, thresholds=DEFAULT_THRESHOLDS)
    assert not bad.blessed and bad.verdict.failures[0].kind == "skill"
    with pytest.raises(InputError, match="unknown metric 'accuracy' for a regression model; known: rmse, mae, r2"):
        _evaluate(tmp_path, ridge, test, "target", train, thresholds={"accuracy": 0.8})


def test_champion_comparison_is_a_seeded_paired_bootstrap(tmp_path):
    """A challenger whose point estimate is within the margin but whose interval is not, fails; the interval is reported."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(1200, 3)), columns=["a", "b", "c"])
    frame["label"] = np.where(frame["a"] + 0.6 * frame["b"] + rng.normal(scale=0.5, size=1200) > 0, "p", "n")
    train, test = frame.iloc[:400], frame.iloc[1000:]
    strong = save_model(tmp_path / "strong", train, "label", ["a", "b"], [], LogisticRegression())
    other = save_model(tmp_path / "other", train, "label", ["a", "c"], [], LogisticRegression())
    registry = open_registry(str(tmp_path / "registry"))
    registry.promote("m", registry.register(str(strong), "m").version)
    options = dict(registry_uri=str(tmp_path / "registry"), model_name="m")
    same = _evaluate(tmp_path, strong, test, "label", train, **options)
    check = next(c for c in same.verdict.checks if c.kind == "champion")
    assert same.blessed and (check.interval.low, check.interval.high) == (0.0, 0.0)  # the same rows, the same model
    weaker = _evaluate(tmp_path, other, test, "label", train, regression_margin=0.2, **options)
    check = next(c for c in weaker.verdict.checks if c.kind == "champion")
    assert check.interval.difference < 0 and "paired difference" in check.reason and "95% CI" in check.reason
    assert weaker.blessed  # within a wide margin ...
    point_gap = -check.interval.difference
    strict = _evaluate(tmp_path, other, test, "label", train, regression_margin=point_gap + 0.001, **options)
    check = next(c for c in strict.verdict.checks if c.kind == "champion")
    assert not strict.blessed and "not shown to be within margin" in check.reason  # ... the point alone would pass
    again = _evaluate(tmp_path, other, test, "label", train, regression_margin=point_gap + 0.001, **options)
    assert next(c for c in again.verdict.checks if c.kind == "champion").interval == check.interval  # seeded


def test_bootstrap_metrics_match_sklearn():
    from sklearn import metrics as m

    from kfp_mlops.components.evaluation.metrics import score_arrays

    rng = np.random.default_rng(0)
    truth = rng.choice(["a", "b", "c"], 300, p=[0.6, 0.3, 0.1])
    predicted = np.where(rng.random(300) < 0.7, truth, rng.choice(["a", "b", "c"], 300))
    proba = rng.dirichlet([1, 1, 1], 300)
    mine = score_arrays("classification", truth, predicted, proba, ["a", "b", "c"]).scored
    constant = score_arrays("classification", truth, np.full(300, "a"), None, ["a", "b", "c"]).scored
    for metric in ("accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro"):
        interval = bootstrap.paired_difference(metric, mine, constant, resamples=50)
        expected = getattr(m, {"accuracy": "accuracy_score", "balanced_accuracy": "balanced_accuracy_score",
                               "f1_macro": "f1_score", "precision_macro": "precision_score",
                               "recall_macro": "recall_score"}[metric])
        kwargs = {} if metric in ("accuracy", "balanced_accuracy") else {"average": "macro", "zero_division": 0}
        assert interval.a == pytest.approx(expected(truth, predicted, **kwargs))
        assert interval.low <= interval.difference <= interval.high
    y = rng.normal(size=300)
    model = score_arrays("regression", y, y + rng.normal(scale=0.5, size=300)).scored
    mean = score_arrays("regression", y, np.zeros(300)).scored
    assert bootstrap.paired_difference("r2", model, mean).a == pytest.approx(m.r2_score(y, model.predicted))


def test_threshold_names_are_checked_against_the_task():
    gate.check_threshold_names({"rmse": 3.0}, "regression")
    with pytest.raises(InputError, match="--threshold: unknown metric 'acc'"):
        gate.check_threshold_names({"acc": 0.9}, "", "--threshold")
    with pytest.raises(InputError, match="for a classification model"):
        gate.check_threshold_names({"r2": 0.9}, "classification")


def test_a_breaking_change_against_the_champion_is_flagged_in_the_report(tmp_path, penguin_models, penguins_split):
    train, _, test = penguins_split
    registry = open_registry(str(tmp_path / "registry"))
    registry.promote("penguins", registry.register(str(penguin_models["weak"]), "penguins").version)  # island only
    result = _evaluate(tmp_path, penguin_models["strong"], test, "species", train,
                       registry_uri=str(tmp_path / "registry"), model_name="penguins")
    assert result.blessed  # better, yet its inputs differ: blessed, but never promoted automatically
    assert "new feature 'bill_length_mm'" in result.verdict.breaking and "sex" in result.verdict.breaking
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Breaking change: not promoted automatically" in report
    same = _evaluate(tmp_path, penguin_models["weak"], test, "species", train,
                     registry_uri=str(tmp_path / "registry"), model_name="penguins")
    assert same.verdict.breaking == ""
