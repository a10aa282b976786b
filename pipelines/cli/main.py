"""``kfp-mlops``: run, compile, list, validate, serve and submit pipelines.

Exit codes: 0 success; 1 a gate failed (data not valid, model not blessed) or
the run failed; 2 bad input or usage, with a one-line cause.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Each module exposes register(subparsers); imported lazily so --help stays fast.
COMMAND_MODULES = ("run", "validate", "compile", "list_cmd", "models", "serve", "submit", "promote", "demo")


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
    from kfp_mlops.components.errors import InputError

    args = build_parser().parse_args(argv)
    try:
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
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
