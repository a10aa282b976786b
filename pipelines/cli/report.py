"""``kfp-mlops report [RUN]``: the paths of a local run's reports (HTML, Markdown) and data files."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report", help="print the paths of a local run's reports and data files (or open them)",
        description="Print the reports (HTML, Markdown) and data files (CSV, Parquet) of a local run, one per line. "
        "RUN is a run name, a unique prefix of one, a pipeline name (its latest run) or 'latest' (the default).")
    parser.add_argument("run", nargs="?", default="latest", help="run name or prefix, pipeline name, or latest")
    parser.add_argument("--open", action="store_true", help="also open the HTML and Markdown reports in a browser")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Prints one line per report; exit 2 when no run matches."""
    from kfp_mlops.pipelines.local_runner import pipeline_root
    from kfp_mlops.pipelines.run_records import find_run

    record = find_run(pipeline_root(), args.run)
    status = "succeeded" if record.succeeded else f"FAILED: {record.error}"
    print(f"Run {record.run} ({record.pipeline}, {status}, {record.seconds:.1f} s)")
    reports = record.reports()
    if not reports:
        print("  no reports or data files")
    width = max((len(f"{record.label(task)} {name}") for task, name, _ in reports), default=0)
    for task, name, path in reports:
        print(f"  {record.label(task) + ' ' + name:<{width}}  {path}")
    if record.log_path:
        print(f"  {'task logs':<{width}}  {record.log_path}")
    if args.open:
        import webbrowser
        from pathlib import Path

        for _, _, path in reports:
            if path.endswith((".html", ".md")):
                webbrowser.open(Path(path).as_uri())
    return 0
