"""``kfp-mlops submit`` and ``kfp-mlops upload``: send pipelines to Vertex AI or Kubeflow,
templates to Artifact Registry."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from kfp_mlops.pipelines.targets import compiled_target, compiled_targets


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``submit`` and ``upload`` subcommands."""
    parser = subparsers.add_parser(
        "submit",
        help="submit a run (or a schedule) to Vertex AI or a Kubeflow Pipelines host",
        description="Submit PIPELINE (a pipeline name, compiled on the fly, or a compiled YAML file). "
        "Parameters are checked against the compiled spec before anything is sent.",
    )
    parser.add_argument("pipeline", help="pipeline name (e.g. training) or compiled YAML file")
    parser.add_argument("--target", choices=compiled_targets(), help="where to submit (or take it from --env)")
    parser.add_argument("--env", help="a named environment (dev, staging, prod...) of the environments file: "
                        "its target, project, region, pipeline root, service account, registry and endpoint")
    parser.add_argument("--environments", default="", help="environments file (default: $KFP_MLOPS_ENVIRONMENTS "
                        "or ./environments.yaml)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="pipeline parameter, typed by the compiled spec (JSON for dict/list); repeatable")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE", help="extra run label; repeatable")
    parser.add_argument("--no-cache", action="store_true", help="turn caching off for every task")
    parser.add_argument("--wait", action="store_true", help="wait for the run to end; exit 1 unless it succeeded")
    parser.add_argument("--schedule", metavar="CRON", help="create a recurring run on this cron instead of one run")
    parser.add_argument("--service-account", help="service account the run executes as")
    parser.add_argument("--dry-run", action="store_true", help="check and print what would be sent; send nothing")
    parser.add_argument("--result-file", help="write the submission result as JSON to this file (for scripts)")
    parser.add_argument("--pipeline-root", help="folder for run artifacts (vertex: a gs:// folder, required; "
                        "kfp: optional override)")
    for name in compiled_targets():
        group = parser.add_argument_group(f"--target {name}")
        for option in compiled_target(name).submit_options:
            env = f" (default: ${option.env})" if option.env else ""
            # No default here: --env comes first, then the environment variable (see _target_options).
            group.add_argument(option.flag, default=None, help=option.help + env)
    build = parser.add_argument_group("compiling a pipeline name")
    build.add_argument("--image-tag", help="tag of the component images (default: the compiler's)")
    build.add_argument("--image-registry", help="registry prefix of the component images")
    parser.set_defaults(func=handle_submit)

    upload = subparsers.add_parser(
        "upload",
        help="upload compiled templates to an Artifact Registry KFP repository",
        description="Upload compiled YAML files (or every *.yaml in a folder) as pipeline templates.",
    )
    upload.add_argument("paths", nargs="+", help="compiled YAML files or folders")
    upload.add_argument("--host", help="https://REGION-kfp.pkg.dev/PROJECT/REPOSITORY")
    upload.add_argument("--project", default=os.environ.get("GOOGLE_CLOUD_PROJECT"))
    upload.add_argument("--region", default=os.environ.get("GOOGLE_CLOUD_REGION"))
    upload.add_argument("--repository", help="Artifact Registry repository (format KFP)")
    upload.add_argument("--tag", action="append", default=[], help="version tag, e.g. the commit; repeatable")
    upload.set_defaults(func=handle_upload)


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    """Parses ``KEY=VALUE`` strings."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def handle_submit(args: argparse.Namespace) -> int:
    """Compiles when needed (in a temporary folder, removed after), checks parameters, submits."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kfp-mlops-submit-") as scratch:
        return _submit(args, scratch)


def _submit(args: argparse.Namespace, scratch: str) -> int:
    """Compiles into ``scratch`` when given a pipeline name, checks parameters, submits or prints (dry run)."""
    from kfp_mlops.pipelines.submission import load_package, parse_param_args, resolve_package, run_labels
    from kfp_mlops.pipelines.submission.credentials import assert_no_credentials

    environment = _apply_environment(args)
    if not args.target:
        raise ValueError("submit needs --target or --env")
    target = compiled_target(args.target)
    options = {option.dest: getattr(args, option.dest) or option.default() for option in target.submit_options}
    options["pipeline_root"] = args.pipeline_root
    target.require(options, as_flags=True)
    path = resolve_package(args.pipeline, args.target, out_dir=scratch, image_tag=args.image_tag,
                           image_registry=args.image_registry)
    package = load_package(path)
    parameters = parse_param_args(package, args.param)
    if environment is not None:  # the environment's registry and endpoint, unless --param says otherwise
        for name, value in environment.pipeline_parameters().items():
            if name in package.parameters and name not in parameters:
                parameters[name] = value
    labels = _pairs(args.label, "--label")
    if args.dry_run:
        from kfp_mlops.pipelines.submission.spec import validate_parameters

        assert_no_credentials(path)
        compiled = Path(scratch) in path.absolute().parents
        # Where the run would go: the target's own options (project and region, or host and namespace).
        print(json.dumps({"target": args.target, **options, "pipeline": package.name,
                          "package": path.name if compiled else str(path), "compiled_here": compiled,
                          "parameters": validate_parameters(package, parameters),
                          "labels": run_labels(package, labels), "enable_caching": not args.no_cache,
                          "schedule": args.schedule}, indent=2, sort_keys=True))
        return 0
    common = {"parameters": parameters, "enable_caching": not args.no_cache, "wait": args.wait,
              "schedule": args.schedule, "labels": labels, "service_account": args.service_account}
    try:
        result = target.submit(path, **options, **common)
    except RuntimeError as error:  # the run ended badly (--wait)
        print(f"kfp-mlops: {error}", file=sys.stderr)
        return 1
    except ValueError:
        raise
    except Exception as error:  # noqa: BLE001 - API errors: one line, exit 1
        if not _is_api_error(error):
            raise
        print(f"kfp-mlops: error: submission failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result.to_dict(), sort_keys=True))
    if args.result_file:
        Path(args.result_file).write_text(json.dumps(result.to_dict(), sort_keys=True))
    return 0


def _apply_environment(args: argparse.Namespace):
    """Fills the target and its options from ``--env`` where the command line left them out."""
    if not args.env:
        return None
    from kfp_mlops.pipelines.environments import load_environments

    environment = load_environments(args.environments).get(args.env)
    if args.target and args.target != environment.target:
        raise ValueError(f"--target {args.target} contradicts --env {args.env} (target {environment.target})")
    args.target = environment.target
    for key, value in environment.submit_options().items():
        if getattr(args, key, None) in (None, ""):
            setattr(args, key, value)
    return environment


def _is_api_error(error: BaseException) -> bool:
    """True for errors from the remote API or the network (not bugs)."""
    from kfp_mlops.pipelines.submission.retry import http_status

    names = {cls.__module__.split(".")[0] + "." + cls.__name__ for cls in type(error).__mro__}
    return http_status(error) is not None or any(
        name.startswith(("google.", "kfp_server_api.", "requests.", "urllib3.")) for name in names)


def _templates(paths: list[str]) -> list[Path]:
    """Expands folders to their ``*.yaml`` files."""
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.glob("*.yaml"))
            if not found:
                raise ValueError(f"{path}: no compiled *.yaml files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"not found: {path}")
    return files


def handle_upload(args: argparse.Namespace) -> int:
    """Uploads each template with the given tags."""
    from kfp_mlops.pipelines.submission import upload_template

    host = args.host
    if not host:
        if not (args.project and args.region and args.repository):
            raise ValueError("upload needs --host, or --project, --region and --repository")
        host = f"https://{args.region}-kfp.pkg.dev/{args.project}/{args.repository}"
    for path in _templates(args.paths):
        try:
            upload_template(path, host, tags=args.tag)
        except ValueError:
            raise
        except Exception as error:  # noqa: BLE001
            if not _is_api_error(error):
                raise
            print(f"kfp-mlops: error: upload of {path} failed: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    return 0
