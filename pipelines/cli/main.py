"""``kfp-mlops``: run, compile, list, validate, serve and submit pipelines.

Exit codes: 0 success; 1 a gate failed (data not valid, model not blessed) or
the run failed; 2 bad input or usage, with a one-line cause.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

# Each module exposes register(subparsers); imported lazily so --help stays fast.
COMMAND_MODULES = ("run", "tune", "validate", "compile", "list_cmd", "models", "serve", "submit", "promote", "demo",
                   "report", "ui", "project")


def build_parser() -> argparse.ArgumentParser:
    """Builds the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="kfp-mlops",
        description="Reusable Kubeflow Pipelines components for MLOps level 2: "
        "run pipelines locally, compile them for Vertex AI or Kubeflow, and submit them.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"kfp_mlops.pipelines.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kfp-mlops`` console command."""
    from kfp_mlops.components.core import log
    from kfp_mlops.components.core.errors import InputError

    args = build_parser().parse_args(argv)
    log.configure()  # the library's progress lines, as [capability] message, on the current stdout
    try:
        from kfp_mlops.pipelines.datasets import resolve_dataset_names

        resolve_dataset_names(args)  # --data penguins, and the bundled data's copy for `run training`
        code = args.func(args)
    except (InputError, ValueError, FileNotFoundError) as error:
        print(f"kfp-mlops: error: {error}", file=sys.stderr)
        code = 2
    except RuntimeError as error:
        print(f"kfp-mlops: failed: {error}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print("kfp-mlops: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:  # the reader left early (`kfp-mlops models list --json | head`): not an error
        _silence_stdout()
        return 0
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 0
    return int(code or 0)


def _silence_stdout() -> None:
    """Points stdout at /dev/null, so the interpreter's last flush at exit prints no traceback."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):  # no real stdout (replaced, e.g. by a test)
        pass


if __name__ == "__main__":
    sys.exit(main())
