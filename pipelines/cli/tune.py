"""``kfp-mlops tune``: search hyperparameters locally (Optuna) and print every trial and the best values."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_search_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The search's options, shared with ``kfp-mlops run training --tune``."""
    parser.add_argument(f"--{prefix}trials", dest="tuning_trials", type=int, default=20,
                        help="most trials, the defaults' trial included (default 20)")
    parser.add_argument(f"--{prefix}parallelism", dest="tuning_parallelism", type=int, default=2,
                        help="sklearn trials at once (default 2; Keras trials run one at a time)")
    parser.add_argument(f"--{prefix}metric", dest="tuning_metric", default="auto",
                        help="metric on the eval split that picks the best trial (default auto: log_loss or rmse)")
    parser.add_argument("--search-space", default="",
                        help="JSON (or a .json/.yaml file): name -> [choices] or {min, max[, log, type: int]} "
                        "(default: the trainer's space)")


def parse_space(text: str) -> dict[str, Any]:
    """``--search-space``: inline JSON, or a JSON/YAML file.

    Raises:
        ValueError: Naming the flag and why the value is not a mapping.
    """
    if not text:
        return {}
    path = Path(text)
    try:
        if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
            import yaml

            value = yaml.safe_load(path.read_text())
        else:
            value = json.loads(text)
    except (ValueError, OSError) as error:
        raise ValueError(f"--search-space: not JSON or a readable .json/.yaml file: {error}") from None
    if not isinstance(value, dict):
        raise ValueError("--search-space must be a mapping of hyperparameter -> choices or range")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``tune`` subcommand."""
    parser = subparsers.add_parser(
        "tune", help="search hyperparameters locally (Optuna) and report every trial",
        description="Run the tuning pipeline locally: ingest, validate, then an Optuna search (TPE, median "
                    "pruning, parallel trials) scored on the eval split. Exit 0 on success, 1 when a task failed "
                    "or the data did not validate, 2 on bad input.")
    parser.add_argument("--data", default="", help="CSV with a header row, or penguins (the default)")
    parser.add_argument("--label", default="", help="label column (default: species for the bundled data)")
    parser.add_argument("--trainer", choices=("sklearn", "keras"), default="sklearn")
    parser.add_argument("--estimator", default="hist_gradient_boosting",
                        help="sklearn estimator when the space does not search one")
    parser.add_argument("--seed", type=int, default=42)
    add_search_options(parser)
    parser.add_argument("--result-file", default="", help="write the best trial and every trial as JSON here")
    parser.add_argument("--no-cache", action="store_true", help="disable kfp.local caching")
    parser.add_argument("--verbose", action="store_true", help="show every task's logs on the console")
    parser.set_defaults(func=handle, pipeline="tuning")


def handle(args: argparse.Namespace) -> int:
    """Runs the search and prints the report."""
    from kfp_mlops.pipelines.cli.run import _finish, _log_path
    from kfp_mlops.pipelines.outcomes import artifact_path
    from kfp_mlops.pipelines.tuning import run_tuning

    run = run_tuning(args.data, args.label, args.trainer, log_path=_log_path(args), enable_caching=not args.no_cache,
                     estimator=args.estimator, seed=args.seed, tuning_space=parse_space(args.search_space),
                     tuning_trials=args.tuning_trials, tuning_parallelism=args.tuning_parallelism,
                     tuning_metric=args.tuning_metric)
    if not _finish(run):
        failure = getattr(run, "failure", None)
        return 2 if failure is not None and failure.input_error else 1
    tune = run.tasks.get("tune-hyperparameters")
    if not tune:
        print("Data validation FAILED: nothing was tuned (see the validation report).")
        return 1
    print(Path(artifact_path(tune["report"])).read_text().strip())
    print(f"Trials: {artifact_path(tune['trials'])}")
    if args.result_file:
        Path(args.result_file).write_text(Path(artifact_path(tune["trials"])).read_text())
    return 0
