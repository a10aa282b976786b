"""``kfp-mlops serve``: serve a registered model (or a model directory) on a local endpoint."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kfp_mlops.components.serving.server import Security

TOKEN_ENV = "KFP_MLOPS_SERVE_TOKEN"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="serve a model on a local KServe endpoint (V1, V2 and Vertex routes)",
        description="Serve the registry's champion (or --model VERSION|ALIAS, or --model-dir DIR) on "
        "http://127.0.0.1:8080: POST /v1/models/NAME:predict {\"instances\": [{...}]}, "
        "POST /v2/models/NAME/infer, and the Vertex routes AIP_PREDICT_ROUTE (/predict) and "
        "AIP_HEALTH_ROUTE (/health). Runs until Ctrl+C.",
    )
    parser.add_argument("--model", default="", metavar="VERSION|ALIAS",
                        help="registry version or alias to serve (default: champion, so it follows promote and "
                        "rollback; a different locally deployed version is reported)")
    parser.add_argument("--name", default="",
                        help="registered model name, also the NAME in the routes (default: the one deployed model)")
    parser.add_argument("--registry", default="", help="local registry folder (default: .kfp-mlops/registry)")
    parser.add_argument("--model-dir", default="",
                        help="serve this model directory (a folder or gs://...) instead of a registry version; "
                        "with no model options, $AIP_STORAGE_URI is used when set (Vertex AI)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to bind (default 127.0.0.1; 0.0.0.0 exposes it to the network)")
    parser.add_argument("--port", type=int, default=None,
                        help="port (default: $AIP_HTTP_PORT, else 8080; 0 picks a free one)")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes sharing the port (each micro-batches; use up to one per core)")
    parser.add_argument("--max-batch-rows", type=int, default=512,
                        help="most rows scored together when concurrent requests are micro-batched")
    parser.add_argument("--auth-token-env", default="", metavar="VAR",
                        help="require 'Authorization: Bearer <token>' on every route but the health probes, the "
                        f"token read from environment variable VAR (default: ${TOKEN_ENV} when set); needed to "
                        "bind a non-loopback address")
    parser.add_argument("--allow-unauthenticated", action="store_true",
                        help="serve a non-loopback address without a token (only behind a platform that "
                        "authenticates, e.g. Vertex AI)")
    parser.add_argument("--enable-model-repository", action="store_true",
                        help="keep the V2 model repository routes (POST /v2/repository/models/NAME/load|unload); "
                        "off by default, as anyone reaching the port could unload the model")
    parser.set_defaults(func=handle)


def _security(args: argparse.Namespace) -> Security:
    """The endpoint's security settings from the flags; a named token variable must be set and non-empty."""
    from kfp_mlops.components.core.errors import InputError
    from kfp_mlops.components.serving.server import Security

    token = os.environ.get(args.auth_token_env or TOKEN_ENV, "").strip()
    if args.auth_token_env and not token:
        raise InputError(f"--auth-token-env {args.auth_token_env}: environment variable "
                         f"{args.auth_token_env} is not set or empty")
    return Security(token, args.allow_unauthenticated, args.enable_model_repository)


def registry_model(args: argparse.Namespace):
    """Loads the registry version or alias asked for (``champion`` by default), says which it is,
    and warns when the local deployment record names another version."""
    from kfp_mlops.components.deployment.local import DEFAULT_ALIAS, read_deployments, resolve_served_model
    from kfp_mlops.pipelines import local_runner

    registry = Path(args.registry).absolute() if args.registry else local_runner.default_registry()
    requested = args.model or DEFAULT_ALIAS
    served = resolve_served_model(registry, args.name, requested)
    alias = f" ({requested})" if requested != served.version else ""
    print(f"Loaded {served.name} {served.version}{alias} from {registry} ({served.path})", flush=True)
    deployed = read_deployments(registry).get(served.name, {}).get("version")
    if deployed and deployed != served.version:
        print(f"warning: the local deployment record ({registry / 'deployments.json'}) names {served.name} "
              f"{deployed}, but {requested} is {served.version}: serving {served.version} "
              f"(use --model {deployed} to serve the deployed one)", flush=True)
    return served


def handle(args: argparse.Namespace) -> int:
    """Resolves the model and serves it in the foreground."""
    from kfp_mlops.components.core import log
    from kfp_mlops.components.deployment.storage import STORAGE_URI_ENV, fetch_model_dir
    from kfp_mlops.components.serving.server import is_loopback, serve_forever

    log.configure()  # a long-running server: its startup lines (URL, routes) are its console output
    security = _security(args)
    if not is_loopback(args.host) and not security.token and not security.allow_unauthenticated:
        from kfp_mlops.components.core.errors import InputError

        raise InputError(f"--host {args.host} exposes the endpoint beyond this machine: set a token with "
                         f"--auth-token-env VAR (or ${TOKEN_ENV}), or pass --allow-unauthenticated behind a "
                         "platform that authenticates")

    model_dir = args.model_dir
    if not model_dir and not (args.model or args.name or args.registry):
        model_dir = os.environ.get(STORAGE_URI_ENV, "")  # set by Vertex AI for a custom serving container
    if model_dir:
        if args.model:
            raise ValueError("give either --model (a registry version) or --model-dir, not both")
        print(f"Loading model directory {model_dir}", flush=True)
        model = fetch_model_dir(model_dir)
        name = args.name or Path(model_dir.rstrip("/")).name or "model"
    else:
        served = registry_model(args)
        model, name = served.predictor, served.name
    if not is_loopback(args.host) and not security.token:
        print(f"warning: binding {args.host} with no authentication (--allow-unauthenticated)", flush=True)
    serve_forever(model, name, args.host, args.port, args.max_batch_rows, args.workers, security)
    return 0
