"""``kfp-mlops ui``: a read-only local run browser over the pipeline root and the registry."""
from __future__ import annotations

import argparse

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``ui`` subcommand."""
    parser = subparsers.add_parser(
        "ui", help="browse local runs, metrics, reports and the registry in a browser (read-only)",
        description="Serve a read-only run browser on http://127.0.0.1:8765: the runs with their status, "
        "parameters and duration; each run's steps, logs, artifacts, metrics, confusion matrix and ROC curve; "
        "the reports, rendered and sanitized; the registry's versions, aliases, lineage and deployments; "
        "and side-by-side comparisons of two runs or two model versions. Runs until Ctrl+C.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--registry", default="", help="local registry folder (default: .kfp-mlops/registry)")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Serves the browser in the foreground."""
    from pathlib import Path

    from kfp_mlops.pipelines import local_runner
    from kfp_mlops.pipelines.ui.server import serve

    if args.host not in LOOPBACK:
        print(f"warning: binding {args.host} shows your runs, data paths and reports beyond this machine, "
              "with no authentication", flush=True)
    registry = Path(args.registry).absolute() if args.registry else local_runner.default_registry()
    server = serve(local_runner.pipeline_root(), registry, args.host, args.port)
    url = f"http://{args.host}:{server.server_address[1]}/"
    print(f"Run browser on {url} (pipeline root {local_runner.pipeline_root()}, registry {registry}); "
          "Ctrl+C stops it", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
