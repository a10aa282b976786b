"""``kfp-mlops demo level2``: the MLOps level-2 loop, locally, in one command."""
from __future__ import annotations

import argparse
import tempfile


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run a demo: level2 = train, serve, detect drift, retrain, promote, serve the new model",
        description="Run the level-2 story locally: train and deploy a champion, serve shifted traffic, "
        "monitoring detects drift and retrains, the new model passes the gate and is served.",
    )
    parser.add_argument("story", choices=("level2",))
    parser.add_argument("--workdir", default="", help="folder for data, runs and registry (default: a temporary one)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Runs the demo and prints each step."""
    from kfp_mlops.pipelines.demo import run_level2_demo

    def say(line: str) -> None:
        print(line, flush=True)

    if args.workdir:
        run_level2_demo(args.workdir, say)
        return 0
    with tempfile.TemporaryDirectory(prefix="kfp-mlops-demo-") as workdir:
        run_level2_demo(workdir, say)
    return 0
