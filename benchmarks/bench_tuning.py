"""Tuning against the default hyperparameters, scored on the same held-out test rows.

For each bundled scikit-learn dataset chosen, the rows are split once (seeded) into train,
eval and test. ``default`` fits the trainer's estimator with its default hyperparameters on
train; ``tuned`` runs the Optuna search (:func:`kfp_mlops.components.training.search.tune`:
every trial fits on train and is scored on eval), then fits the best trial's values on train.
Both are scored on the test rows, which the search never sees; the metric is the search's own
(rmse for regression, log_loss for classification; lower is better) plus r2 or accuracy.

Run ``python benchmarks/bench_tuning.py`` (diabetes, 20 trials) or e.g.
``--datasets diabetes,breast_cancer,wine --trials 40 --parallel 2``.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

DATASETS = ("diabetes", "breast_cancer", "wine")


def load(name: str) -> tuple[pd.DataFrame, str]:
    """A bundled dataset as a frame with a ``target`` label (string classes for classification)."""
    from sklearn import datasets

    frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
    if name != "diabetes":
        frame["target"] = "class_" + frame["target"].astype(str)
    return frame, "target"


def write_splits(frame: pd.DataFrame, label: str, folder: Path, seed: int) -> tuple[Path, Path, Path, pd.DataFrame]:
    """60/20/20 train/eval/test CSVs and a schema; returns the paths and the test rows."""
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    cuts = int(len(shuffled) * 0.6), int(len(shuffled) * 0.8)
    shuffled.iloc[: cuts[0]].to_csv(folder / "train.csv", index=False)
    shuffled.iloc[cuts[0]: cuts[1]].to_csv(folder / "eval.csv", index=False)
    schema = schema_pb2.Schema()
    for column in frame.columns:
        kind = schema_pb2.BYTES if column == label and frame[column].dtype == object else schema_pb2.FLOAT
        schema.feature.add(name=column, type=kind)
    (folder / "schema.pbtxt").write_text(text_format.MessageToString(schema))
    return folder / "train.csv", folder / "eval.csv", folder / "schema.pbtxt", shuffled.iloc[cuts[1]:]


def fit_and_score(train: Path, schema: Path, label: str, estimator: str, params: dict, test: pd.DataFrame,
                  metric: str, seed: int) -> dict[str, float]:
    """Trains with the real trainer (in a scratch folder) and scores the test rows."""
    from sklearn.metrics import accuracy_score, r2_score

    from kfp_mlops.components.core.features import label_values
    from kfp_mlops.components.core.model_io import load_model
    from kfp_mlops.components.training.search import score
    from kfp_mlops.components.training.sklearn_trainer import train_sklearn_model

    with tempfile.TemporaryDirectory() as scratch:
        trained = train_sklearn_model(train, schema, Path(scratch) / "model", label, estimator=estimator,
                                      hyperparameters=params, seed=seed)
        predictor = load_model(Path(scratch) / "model")
        truth = label_values(test[label], trained.contract.task)
        scores = {metric: score(metric, trained.contract.task, truth, lambda: predictor.predict(test),
                                lambda: predictor.predict_proba(test), list(trained.contract.classes))}
        predicted = predictor.predict(test)
        if trained.contract.task == "regression":
            scores["r2"] = float(r2_score(truth, predicted))
        else:
            scores["accuracy"] = float(accuracy_score(np.asarray(truth).astype(str), np.asarray(predicted).astype(str)))
    return scores


def main() -> None:
    """Prints, per dataset, the default and the tuned model's scores on the same test rows."""
    import logging

    from kfp_mlops.components.training.search import tune

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="diabetes", help=f"comma-separated, from {', '.join(DATASETS)}")
    parser.add_argument("--estimator", default="hist_gradient_boosting")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"{'dataset':<14} {'rows':>5} {'metric':<9} {'default':>9} {'tuned':>9} {'tuned/def':>9} "
          f"{'other (def -> tuned)':<28} {'search s':>8}  best values")
    for name in args.datasets.split(","):
        frame, label = load(name)
        with tempfile.TemporaryDirectory() as folder:
            train, evaluation, schema, test = write_splits(frame, label, Path(folder), args.seed)
            start = time.perf_counter()
            result = tune(train, evaluation, schema, label, estimator=args.estimator, max_trials=args.trials,
                          parallel_trials=args.parallel, seed=args.seed)
            seconds = time.perf_counter() - start
            default = fit_and_score(train, schema, label, args.estimator, {}, test, result.metric, args.seed)
            tuned = fit_and_score(train, schema, label, result.estimator, result.hyperparameters, test, result.metric,
                                  args.seed)
        other = next(k for k in default if k != result.metric)
        values = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in sorted(result.hyperparameters.items()))
        print(f"{name:<14} {len(test):>5} {result.metric:<9} {default[result.metric]:>9.4f} "
              f"{tuned[result.metric]:>9.4f} {tuned[result.metric] / default[result.metric]:>9.3f} "
              f"{other + f' {default[other]:.4f} -> {tuned[other]:.4f}':<28} {seconds:>8.1f}  {values}", flush=True)


if __name__ == "__main__":
    main()
