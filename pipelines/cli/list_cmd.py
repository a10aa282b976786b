"""``kfp-mlops list``: the components and pipelines this package ships."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``list`` subcommand."""
    parser = subparsers.add_parser("list", help="show the components and pipelines")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Prints components by capability, then pipelines."""
    from kfp_mlops.pipelines.catalog import list_components
    from kfp_mlops.pipelines.compiler import pipeline_factories

    print("Components (import from kfp_mlops.components.<capability>.component, or load the YAML):")
    for entry in list_components():
        print(f"  {entry.capability + '/' + entry.name:<40} {entry.summary}")
    print("\nPipelines (kfp-mlops run|compile NAME):")
    for name, factory in sorted(pipeline_factories().items()):
        doc = (factory.__doc__ or "").strip().splitlines()
        print(f"  {name:<40} {doc[0] if doc else ''}")
    print("\nTuning (kfp-mlops tune, or kfp-mlops run|compile training --tune): Optuna locally (TPE, median pruning,"
          "\n  parallel trials), a Vertex AI hyperparameter tuning job on vertex, a Katib Experiment on kfp.")
    return 0
