"""One tuning trial as a container command, for Vertex AI hyperparameter tuning and Katib.

    python -m kfp_mlops.components.training.trial_main --trainer sklearn --train T --eval E \
        --schema S --label L --metric rmse [--estimator E] [--space JSON] [--seed N] --NAME=VALUE ...

The service passes each suggested hyperparameter as ``--NAME=VALUE``. The trial reports its
metric the two ways the services read it:

- Vertex AI: JSON lines in ``$CLOUD_ML_HP_METRIC_FILE`` (default
  ``/tmp/hypertune/output.metrics``), the format of the ``cloudml-hypertune`` package;
- Katib: ``NAME=VALUE`` lines on stdout (Katib's default StdOut metrics collector), one per
  step, which Katib's median-stop early stopping reads.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

logger = logging.getLogger(__name__)

HYPERTUNE_FILE = "/tmp/hypertune/output.metrics"
MODULE = "kfp_mlops.components.training.trial_main"


def trial_command() -> list[str]:
    """The container command of a trial."""
    return ["python3", "-m", MODULE]


def trial_args(trainer: str, train: str, eval_path: str, schema: str, label: str, metric: str, estimator: str,
               space: dict, seed: int, task: str = "auto") -> list[str]:
    """The fixed arguments of every trial (the service appends the suggested values)."""
    return ["--trainer", trainer, "--train", train, "--eval", eval_path, "--schema", schema, "--label", label,
            "--metric", metric, "--estimator", estimator, "--space", json.dumps(space, sort_keys=True),
            "--seed", str(int(seed)), "--task", task]


class Reporter:
    """Writes a trial's metric where Vertex AI and Katib read it."""

    def __init__(self, metric: str, path: str | None = None):
        self.metric = metric
        self.path = Path(path or os.environ.get("CLOUD_ML_HP_METRIC_FILE", HYPERTUNE_FILE))
        self.trial = os.environ.get("CLOUD_ML_TRIAL_ID", "0")
        self.records: list[str] = []

    def __call__(self, value: float, step: int) -> None:
        """Records ``value`` at ``step`` (hypertune keeps every record; Katib reads each line)."""
        self.records.append(json.dumps({"timestamp": time.time(), "trial": str(self.trial), self.metric: str(value),
                                        "global_step": str(int(step)), "checkpoint_path": ""}))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("\n".join(self.records[-100:]))
        # Katib's StdOut metrics collector reads exactly `metric=value` lines from the trial's stdout.
        print(f"{self.metric}={value}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Runs one trial; returns 0, or 2 with a one-line reason on bad input."""
    from kfp_mlops.components.core.errors import InputError
    from kfp_mlops.components.training.search import metric_for
    from kfp_mlops.components.training.search_space import cast_value, parse_space, split_trial
    from kfp_mlops.components.training.search_trials import load_trial_data, run_trial

    parser = argparse.ArgumentParser(prog=MODULE, description="Run one tuning trial and report its metric.")
    for flag in ("--trainer", "--train", "--eval", "--schema", "--label", "--metric"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--estimator", default="hist_gradient_boosting")
    parser.add_argument("--space", default="{}")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--task", default="auto")
    args, suggested = parser.parse_known_args(argv)
    try:
        dimensions = {d.name: d for d in parse_space(json.loads(args.space), args.trainer, args.estimator)}
        values = {}
        for item in suggested:
            name, sep, text = item.lstrip("-").partition("=")
            if not sep or name not in dimensions:
                raise InputError(f"unexpected trial argument {item!r}; the space has: {', '.join(dimensions)}")
            values[name] = cast_value(dimensions[name], text)
        data = load_trial_data(args.train, args.eval, args.schema, args.label, args.task)
        metric, _ = metric_for(args.metric, data.task)
        estimator, params = split_trial(values, args.trainer, args.estimator, data.task)
        reporter = Reporter(metric)
        value = run_trial(data, args.trainer, estimator, params, metric, args.seed, reporter)
        reporter(value, 1_000_000)  # the final measurement: the full fit's score
    except (InputError, ValueError) as error:
        print(f"trial: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
