"""``kfp-mlops run``: run a pipeline locally, with no cloud and no Docker."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``run`` subcommand, with one sub-command per pipeline."""
    parser = subparsers.add_parser(
        "run",
        help="run a pipeline locally (kfp.local, installed environment, cached)",
        description="Run a pipeline locally and print a summary. "
        "Exit 0 on success, 1 when a gate stopped it or a task failed, 2 on bad input.",
    )
    pipelines = parser.add_subparsers(dest="pipeline", metavar="PIPELINE", required=True)
    training = pipelines.add_parser("training", help="validate, train, evaluate, register, deploy")
    training.add_argument("--data", default="",
                          help="CSV with a header row, a Parquet file or folder of shards, a gs:// or s3:// URI "
                               "of one, or penguins (the bundled data, the default)")
    training.add_argument("--label", default="", help="label column (default: species for the bundled data)")
    training.add_argument("--schema", default="", help="curated TFX schema.pbtxt to validate against")
    training.add_argument("--model-name", default="", help="registry name (default: the data file's stem)")
    training.add_argument("--trainer", choices=("sklearn", "keras"), default="sklearn")
    training.add_argument("--estimator", default="hist_gradient_boosting",
                          help="sklearn estimator: linear, random_forest, hist_gradient_boosting")
    training.add_argument("--epochs", type=int, default=20, help="Keras epochs")
    training.add_argument("--threshold", action="append", default=[], metavar="METRIC=VALUE",
                          help="absolute gate, e.g. accuracy=0.9 or rmse=12 (repeatable; default none: the "
                          "model must beat the majority class or the mean)")
    training.add_argument("--slice-feature", default="", help="feature to compute per-slice metrics on")
    training.add_argument("--result-file", default="", help="write the outcome as JSON to this file (for scripts)")
    training.add_argument("--slice-floor", action="append", default=[], metavar="METRIC=VALUE",
                          help="per-slice floor, e.g. accuracy=0.7 (repeatable)")
    tuning = training.add_argument_group("tuning (a search before the final fit)")
    tuning.add_argument("--tune", action="store_true",
                        help="search hyperparameters first (Optuna: TPE, median pruning, parallel trials); the "
                        "final model records the chosen values")
    from kfp_mlops.pipelines.cli.tune import add_search_options

    add_search_options(tuning, prefix="tuning-")
    _common(training)
    training.set_defaults(func=handle)

    batch = pipelines.add_parser("batch-prediction", help="validate rows against the training schema and score them")
    batch.add_argument("--data", required=True, help="rows to score: CSV, Parquet (a file or a folder of shards), "
                       "or a gs:// or s3:// URI of one")
    batch.add_argument("--training-data", default="",
                       help="a training CSV to derive the schema and skew baseline from (default: the ones the "
                       "model version carries in the registry)")
    batch.add_argument("--model-name", required=True)
    batch.add_argument("--model-version", default="champion", help="version or alias (default: champion)")
    batch.add_argument("--label", default="", help="label column (default: the model version's own)")
    _common(batch)
    batch.set_defaults(func=handle_batch)

    monitor = pipelines.add_parser("monitoring", help="check drift and decay; retrain when needed")
    monitor.add_argument("--serving-data", required=True,
                         help="serving log (the endpoint's prediction log or the KServe sink's output: a folder, "
                              "gs:// or s3://), a Vertex request-response logging table (bq://P.D.T), or a CSV")
    monitor.add_argument("--training-data", default="",
                         help="a training CSV as drift baseline "
                              "(default: the one the champion carries in the registry)")
    monitor.add_argument("--model-name", required=True)
    monitor.add_argument("--label", default="", help="label column (default: the champion's own)")
    monitor.add_argument("--new-data", default="", help="newly labelled CSV: decay check and retraining window")
    monitor.add_argument("--max-metric-drop", type=float, default=0.05)
    monitor.add_argument("--since", default="", help="serving rows at or after this time (ISO 8601, e.g. 2026-12-01)")
    monitor.add_argument("--until", default="", help="serving rows before this time (ISO 8601)")
    _common(monitor)
    monitor.set_defaults(func=handle_monitoring)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--registry", default="", help="local registry folder (default: .kfp-mlops/registry)")
    parser.add_argument("--no-cache", action="store_true", help="disable kfp.local caching")
    parser.add_argument("--verbose", action="store_true", help="show every task's logs on the console")


def _log_path(args: argparse.Namespace) -> str | None:
    from kfp_mlops.pipelines import local_runner

    if args.verbose:
        return None
    return str(local_runner.home_dir() / "logs" / f"{args.pipeline}-{time.strftime('%Y%m%d-%H%M%S')}.log")


def parse_pairs(pairs: list[str], flag: str) -> dict[str, float]:
    """Parses ``NAME=NUMBER`` flags into a dict.

    Raises:
        ValueError: naming the flag and the bad value.
    """
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            parsed[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ValueError(f"{flag} expects METRIC=NUMBER, got {pair!r}")
    return parsed


def handle(args: argparse.Namespace) -> int:
    """Runs the training pipeline locally and prints the summary."""
    from kfp_mlops.pipelines.cli.tune import parse_space
    from kfp_mlops.pipelines.training import DEFAULT_THRESHOLDS, run_training

    tuning = {} if not args.tune else {
        "tune": True, "tuning_space": parse_space(args.search_space), "tuning_trials": args.tuning_trials,
        "tuning_parallelism": args.tuning_parallelism, "tuning_metric": args.tuning_metric}
    run = run_training(
        data_path=args.data, label=args.label, schema_path=args.schema, model_name=args.model_name,
        registry=args.registry, trainer=args.trainer, enable_caching=not args.no_cache,
        log_path=_log_path(args), estimator=args.estimator, epochs=args.epochs,
        thresholds=parse_pairs(args.threshold, "--threshold") or DEFAULT_THRESHOLDS,
        slice_feature=args.slice_feature, slice_floors=parse_pairs(args.slice_floor, "--slice-floor"), **tuning,
    )
    return print_training_summary(run, run.model_name, run.registry, result_file=args.result_file)


def print_training_summary(run: Any, model_name: str, registry: Path, result_file: str = "") -> int:
    """Prints what the run did and one machine-readable result line; writes the result as JSON to ``result_file``.

    Returns:
        The exit code.
    """
    from kfp_mlops.components.monitoring.trigger import RESULT_PREFIX
    from kfp_mlops.pipelines.outcomes import TrainingOutcome

    outcome = getattr(run, "outcome", None) or TrainingOutcome.from_run(run, model_name, registry)
    _training_summary(run, outcome)
    print(RESULT_PREFIX + json.dumps(outcome.result()))
    if result_file:
        Path(result_file).write_text(json.dumps(outcome.result()))
    return outcome.exit_code


def _training_summary(run: Any, outcome: Any) -> None:
    from kfp_mlops.pipelines import outcomes

    print(f"Finished in {run.seconds:.1f} s" + (f"; task logs: {run.log_path}" if run.log_path else ""))
    if outcome.stopped_by == outcomes.PROMOTION:  # the champion moved, or a breaking change
        print(f"Not promoted: {outcome.failure.message if outcome.failure else outcome.error}")
        return
    if outcome.stopped_by == outcomes.FAILURE:
        print(f"FAILED: {outcome.error}")
        return
    if outcome.validation_passed is not None:
        print(f"Data validation: {'passed' if outcome.validation_passed else 'FAILED'}"
              f" (report: {outcome.validation_report})")
    if outcome.stopped_by == outcomes.DATA_VALIDATION:
        from kfp_mlops.components.core.anomalies import describe_anomalies

        for line in describe_anomalies(outcome.anomalies_path):
            print(f"  - {line}")
        print("Stopped before training: nothing was trained or registered.")
        return
    if outcome.blessed is not None:
        print("Model metrics: " + ", ".join(
            f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(outcome.metrics.items())))
        print(f"Blessed: {'yes' if outcome.blessed else 'no'} (report: {outcome.evaluation_report})")
    _tuning_summary(run)
    if outcome.model_path:
        print(f"Model artifact: {outcome.model_path}")
    if outcome.stopped_by == outcomes.EVALUATION_GATE:
        print(f"Not registered: {outcome.verdict or 'the model did not pass the gate'} (see the report).")
        return
    print(f"Registered: {outcome.model_name} {outcome.version}"
          + (" (champion)" if outcome.promoted else " (challenger: infra validation failed)")
          + f" in {outcome.registry}")


def _tuning_summary(run: Any) -> None:
    """The search's line, when the run tuned: best trial, its score against the defaults, the values."""
    from kfp_mlops.pipelines.outcomes import artifact_path

    tune = run.tasks.get("tune-hyperparameters", {})
    if not tune:
        return
    summary = _integral(tune.get("summary") or {})
    default = summary.get("default_score")
    print(f"Tuning: best trial {summary.get('best_trial')} of {summary.get('trials')} "
          f"({summary.get('pruned')} pruned): {summary.get('metric')}={summary.get('best_score', 0):.4f}"
          + (f" (defaults: {default:.4f})" if isinstance(default, (int, float)) else "")
          + f"; {summary.get('estimator')} {_integral(summary.get('hyperparameters') or {})} "
          f"(report: {artifact_path(tune.get('report'))})")


def _integral(values: dict) -> dict:
    """Whole floats back to ints (KFP passes dict values through JSON as floats)."""
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in values.items()}


def _finish(run: Any) -> bool:
    print(f"Finished in {run.seconds:.1f} s" + (f"; task logs: {run.log_path}" if run.log_path else ""))
    if not run.succeeded:
        print(f"FAILED: {run.error}")
    return run.succeeded


def handle_batch(args: argparse.Namespace) -> int:
    """Runs batch prediction locally and prints where the predictions are."""
    from kfp_mlops.components.core.anomalies import describe_anomalies
    from kfp_mlops.pipelines.batch_prediction import run_batch_prediction
    from kfp_mlops.pipelines.outcomes import BatchOutcome

    run = run_batch_prediction(args.data, args.training_data, args.model_name, label=args.label,
                               registry=args.registry, model_version=args.model_version, log_path=_log_path(args))
    outcome = BatchOutcome.from_run(run)
    if _finish(run) and outcome.validation_passed is False:
        print("Input validation FAILED; nothing was scored:")
        for line in describe_anomalies(outcome.anomalies_path):
            print(f"  - {line}")
    elif outcome.predictions_path:
        print(f"Scored {outcome.rows} rows with {args.model_name} {outcome.model_version}: {outcome.predictions_path}")
    return outcome.exit_code


def handle_monitoring(args: argparse.Namespace) -> int:
    """Runs monitoring locally and prints the decision."""
    from kfp_mlops.pipelines.monitoring import run_monitoring
    from kfp_mlops.pipelines.outcomes import MonitoringOutcome

    run = run_monitoring(args.serving_data, args.training_data, args.model_name, label=args.label,
                         new_data_path=args.new_data, registry=args.registry, log_path=_log_path(args),
                         max_metric_drop=args.max_metric_drop, since=args.since, until=args.until)
    outcome = MonitoringOutcome.from_run(run)
    if _finish(run):
        print(outcome.report)
        if outcome.trigger:
            print(outcome.trigger)
    return outcome.exit_code
