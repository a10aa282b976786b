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
    training.add_argument("--data", default="", help="CSV with a header row, or penguins (the bundled data, the default)")
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
    batch.add_argument("--data", required=True, help="CSV of rows to score")
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
                         help="a training CSV as drift baseline (default: the one the champion carries in the registry)")
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


def _path(artifact: Any) -> str:
    return str(getattr(artifact, "path", None) or getattr(artifact, "uri", ""))


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

    result = {"model_name": model_name, "version": None, "promoted": False, "stopped_by": None}
    code = _training_summary(run, model_name, registry, result)
    print(RESULT_PREFIX + json.dumps(result))
    if result_file:
        Path(result_file).write_text(json.dumps(result))
    return code


def _training_summary(run: Any, model_name: str, registry: Path, result: dict) -> int:
    print(f"Finished in {run.seconds:.1f} s" + (f"; task logs: {run.log_path}" if run.log_path else ""))
    if not run.succeeded and run.error.startswith("PromotionError: "):  # the champion moved, or a breaking change
        version = run.tasks.get("register-model", {}).get("Output")
        print(f"Not promoted: {run.error[len('PromotionError: '):]}")
        result.update(version=version, stopped_by="promotion")
        return 1
    if not run.succeeded:
        print(f"FAILED: {run.error}")
        result["stopped_by"] = "failure"
        return 2 if "InputError" in run.error else 1
    validate = run.tasks.get("validate-data", {})
    if validate:
        print(f"Data validation: {'passed' if validate.get('Output') else 'FAILED'}"
              f" (report: {_path(validate.get('report'))})")
    if validate and not validate.get("Output"):
        from kfp_mlops.components.core.anomalies import describe_anomalies

        for line in describe_anomalies(_path(validate["anomalies"])):
            print(f"  - {line}")
        print("Stopped before training: nothing was trained or registered.")
        result["stopped_by"] = "data validation"
        return 1
    evaluate = run.tasks.get("evaluate-model", {})
    if evaluate:
        metrics = evaluate["metrics"].metadata
        print("Model metrics: " + ", ".join(
            f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(metrics.items())))
        print(f"Blessed: {'yes' if evaluate.get('Output') else 'no'} (report: {_path(evaluate.get('report'))})")
    tune = run.tasks.get("tune-hyperparameters", {})
    if tune:
        summary = _integral(tune.get("summary") or {})
        default = summary.get("default_score")
        print(f"Tuning: best trial {summary.get('best_trial')} of {summary.get('trials')} "
              f"({summary.get('pruned')} pruned): {summary.get('metric')}={summary.get('best_score', 0):.4f}"
              + (f" (defaults: {default:.4f})" if isinstance(default, (int, float)) else "")
              + f"; {summary.get('estimator')} {_integral(summary.get('hyperparameters') or {})} "
              f"(report: {_path(tune.get('report'))})")
    train = next((run.tasks[n] for n in ("train-sklearn", "train-keras") if n in run.tasks), {})
    if train:
        print(f"Model artifact: {_path(train.get('model'))}")
    version = run.tasks.get("register-model", {}).get("Output")
    if not version:
        verdict = (getattr(evaluate.get("report"), "metadata", None) or {}).get("verdict", "") if evaluate else ""
        print(f"Not registered: {verdict or 'the model did not pass the gate'} (see the report).")
        result["stopped_by"] = "evaluation gate"
        return 1
    promoted = "promote-model" in run.tasks
    result.update(version=version, promoted=promoted)
    if not promoted:
        result["stopped_by"] = "infra validation"
    print(f"Registered: {model_name} {version}" + (" (champion)" if promoted else " (challenger: infra validation failed)")
          + f" in {registry}")
    return 0 if promoted else 1


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

    run = run_batch_prediction(args.data, args.training_data, args.model_name, label=args.label,
                               registry=args.registry, model_version=args.model_version, log_path=_log_path(args))
    if not _finish(run):
        return 2 if "InputError" in run.error else 1
    validate = run.tasks["validate-data"]
    if not validate["Output"]:
        print("Input validation FAILED; nothing was scored:")
        for line in describe_anomalies(_path(validate["anomalies"])):
            print(f"  - {line}")
        return 1
    predictions = run.tasks["predict-batch"]["predictions"]
    print(f"Scored {int(predictions.metadata['rows'])} rows with {args.model_name} {predictions.metadata['model_version']}: "
          f"{_path(predictions)}")
    return 0


def handle_monitoring(args: argparse.Namespace) -> int:
    """Runs monitoring locally and prints the decision."""
    from pathlib import Path

    from kfp_mlops.pipelines.monitoring import run_monitoring

    run = run_monitoring(args.serving_data, args.training_data, args.model_name, label=args.label,
                         new_data_path=args.new_data, registry=args.registry, log_path=_log_path(args),
                         max_metric_drop=args.max_metric_drop, since=args.since, until=args.until)
    if not _finish(run):
        return 2 if "InputError" in run.error else 1
    decide = run.tasks["decide-retraining"]
    print(Path(_path(decide["report"])).read_text().strip())
    outcome = run.output("trigger-retraining")
    if outcome:
        print(outcome)
    return 0
