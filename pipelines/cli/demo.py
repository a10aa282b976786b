"""``kfp-mlops demo level2``: the MLOps level-2 loop, locally, in one command."""
from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run a demo: level2 = train, serve, detect drift, retrain, promote, serve the new model",
        description="Run the level-2 story locally: train and deploy a champion, serve shifted traffic, "
        "monitoring detects drift and retrains, the new model passes the gate and is served.",
    )
    parser.add_argument("story", choices=("level2",))
    parser.add_argument("--workdir", default="",
                        help="folder for data, runs and registry; it is kept, so the paths the demo prints stay valid "
                        "(default: a new folder demo-level2-TIME under $KFP_MLOPS_HOME, "
                        "itself ./.kfp-mlops by default)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Runs the demo and prints each step."""
    from kfp_mlops.pipelines.demo import run_level2_demo

    def say(line: str) -> None:
        print(line, flush=True)

    workdir = Path(args.workdir) if args.workdir else _new_workdir()
    say(f"Working folder (kept): {workdir.absolute()}")
    run_level2_demo(workdir, say)
    say(f"Data, runs, logs, prediction log and registry are kept in {workdir.absolute()}; browse them with: "
        f"KFP_MLOPS_HOME={workdir.absolute() / 'home'} kfp-mlops ui")
    return 0


def _new_workdir() -> Path:
    """A new folder under the home that no other demo uses: its paths outlive the command."""
    from kfp_mlops.pipelines.local_runner import home_dir

    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        folder = home_dir() / (f"demo-level2-{stamp}" + (f"-{attempt}" if attempt > 1 else ""))
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"no free demo folder name under {home_dir()}")
